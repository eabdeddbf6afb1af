using System.Globalization;
using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using DurableTask.Core.Serializing;

namespace Workflows.DurableTask.InMemory;

/// <summary>The client side of the in-memory backend: creating, messaging, waiting for, querying and purging instances.</summary>
public sealed partial class InMemoryOrchestrationService : IOrchestrationServiceClient, IOrchestrationServiceQueryClient, IOrchestrationServicePurgeClient
{
    private static readonly JsonDataConverter HistoryConverter = new();

    /// <inheritdoc />
    public Task CreateTaskOrchestrationAsync(TaskMessage creationMessage) => CreateTaskOrchestrationAsync(creationMessage, null!);

    /// <summary>
    /// Creates an instance. An existing instance whose status is in <paramref name="dedupeStatuses"/>, or one that
    /// is still pending, running or suspended, makes this throw <see cref="OrchestrationAlreadyExistsException"/>
    /// (terminate it first); a finished one is replaced by the new execution.
    /// </summary>
    public Task CreateTaskOrchestrationAsync(TaskMessage creationMessage, OrchestrationStatus[] dedupeStatuses)
    {
        ArgumentNullException.ThrowIfNull(creationMessage);
        if (creationMessage.Event is not ExecutionStartedEvent started)
        {
            throw new ArgumentException($"Only {nameof(EventType.ExecutionStarted)} messages create instances.", nameof(creationMessage));
        }

        OrchestrationInstance instance = creationMessage.OrchestrationInstance
            ?? throw new ArgumentException("The creation message names no instance.", nameof(creationMessage));
        ArgumentException.ThrowIfNullOrWhiteSpace(instance.InstanceId, nameof(creationMessage));
        lock (_gate)
        {
            InstanceRecord record = GetOrAddRecord(instance.InstanceId);
            if (record.State is { } existing
                && ((dedupeStatuses is not null && dedupeStatuses.Contains(existing.OrchestrationStatus)) || IsLive(existing.OrchestrationStatus)))
            {
                throw new OrchestrationAlreadyExistsException(
                    $"An orchestration with instance ID '{instance.InstanceId}' already exists with status {existing.OrchestrationStatus}.");
            }

            record.State = PendingState(instance, started);
            record.TerminatedBeforeStart = null;
            if (started.ScheduledStartTime is { } startAt)
            {
                ScheduleOrDeliver(creationMessage, startAt.ToUniversalTime());
            }
            else
            {
                record.Inbox.Add(creationMessage);
                MakeReadyIfDue(record);
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task SendTaskOrchestrationMessageAsync(TaskMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_gate)
        {
            Deliver(message);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task SendTaskOrchestrationMessageBatchAsync(params TaskMessage[] messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        lock (_gate)
        {
            foreach (TaskMessage message in messages)
            {
                Deliver(message);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Waits until the instance (or the given execution of it) is Completed, Failed, Terminated or Canceled, and
    /// returns its state; <see langword="null"/> when <paramref name="timeout"/> passes first on the durable clock.
    /// </summary>
    public async Task<OrchestrationState> WaitForOrchestrationAsync(string instanceId, string executionId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        string? execution = string.IsNullOrEmpty(executionId) ? null : executionId;
        CompletionWaiter waiter;
        InstanceRecord record;
        lock (_gate)
        {
            record = GetOrAddRecord(instanceId);
            if (record.State is { } state && IsTerminal(state.OrchestrationStatus)
                && (execution is null || string.Equals(state.OrchestrationInstance.ExecutionId, execution, StringComparison.Ordinal)))
            {
                return state;
            }

            waiter = new CompletionWaiter(execution, new TaskCompletionSource<OrchestrationState?>(TaskCreationOptions.RunContinuationsAsynchronously));
            record.Waiters.Add(waiter);
        }

        using var expiry = timeout == Timeout.InfiniteTimeSpan || timeout >= WorkQueue<InstanceRecord>.MaxTimerDelay
            ? new CancellationTokenSource()
            : new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(expiry.Token, cancellationToken);
        using (linked.Token.Register(() => GiveUpWaiting(record, waiter)))
        {
            OrchestrationState? result = await waiter.Completion.Task.ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return result!;
        }
    }

    /// <inheritdoc />
    public Task ForceTerminateTaskOrchestrationAsync(string instanceId, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        return SendTaskOrchestrationMessageAsync(new TaskMessage
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId },
            Event = new ExecutionTerminatedEvent(-1, reason),
        });
    }

    /// <summary>The state of the instance's latest execution (this backend keeps only the latest), or none.</summary>
    public Task<IList<OrchestrationState>> GetOrchestrationStateAsync(string instanceId, bool allExecutions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        lock (_gate)
        {
            IList<OrchestrationState> states = _instances.TryGetValue(instanceId, out InstanceRecord? record) && record.State is { } state
                ? [state]
                : [];
            return Task.FromResult(states);
        }
    }

    /// <inheritdoc />
    public Task<OrchestrationState> GetOrchestrationStateAsync(string instanceId, string executionId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        lock (_gate)
        {
            OrchestrationState? state = _instances.TryGetValue(instanceId, out InstanceRecord? record)
                && record.State is { } latest
                && (string.IsNullOrEmpty(executionId) || string.Equals(latest.OrchestrationInstance.ExecutionId, executionId, StringComparison.Ordinal))
                    ? latest
                    : null;
            return Task.FromResult(state!);
        }
    }

    /// <summary>The committed history of the instance's latest execution as JSON (DurableTask.Core's converter), or an empty array.</summary>
    public Task<string> GetOrchestrationHistoryAsync(string instanceId, string executionId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        lock (_gate)
        {
            HistoryEvent[] events = _instances.TryGetValue(instanceId, out InstanceRecord? record)
                && record.History is { } history
                && (string.IsNullOrEmpty(executionId) || string.Equals(record.HistoryExecutionId, executionId, StringComparison.Ordinal))
                    ? [.. history]
                    : [];
            return Task.FromResult(HistoryConverter.Serialize(events));
        }
    }

    /// <summary>Removes the finished instances whose chosen time lies before <paramref name="thresholdDateTimeUtc"/>.</summary>
    public Task PurgeOrchestrationHistoryAsync(DateTime thresholdDateTimeUtc, OrchestrationStateTimeRangeFilterType timeRangeFilterType)
    {
        lock (_gate)
        {
            _ = PurgeWhere(state => TimeOf(state, timeRangeFilterType) < thresholdDateTimeUtc);
        }

        return Task.CompletedTask;
    }

    /// <summary>Removes a finished instance; one that is still live is kept (and counts 0).</summary>
    public Task<PurgeResult> PurgeInstanceStateAsync(string instanceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        lock (_gate)
        {
            int purged = _instances.TryGetValue(instanceId, out InstanceRecord? record) && Purge(record) ? 1 : 0;
            return Task.FromResult(new PurgeResult(purged));
        }
    }

    /// <summary>Removes the finished instances created in the filter's range with one of its statuses.</summary>
    public Task<PurgeResult> PurgeInstanceStateAsync(PurgeInstanceFilter purgeInstanceFilter)
    {
        ArgumentNullException.ThrowIfNull(purgeInstanceFilter);
        HashSet<OrchestrationStatus>? statuses = purgeInstanceFilter.RuntimeStatus is { } wanted ? [.. wanted] : null;
        lock (_gate)
        {
            int purged = PurgeWhere(state =>
                state.CreatedTime >= purgeInstanceFilter.CreatedTimeFrom
                && (purgeInstanceFilter.CreatedTimeTo is not { } to || state.CreatedTime <= to)
                && (statuses is null || statuses.Contains(state.OrchestrationStatus)));
            return Task.FromResult(new PurgeResult(purged, isComplete: true));
        }
    }

    /// <summary>
    /// Pages through the instances in instance-id order: the continuation token is the last id of the previous page.
    /// </summary>
    public Task<OrchestrationQueryResult> GetOrchestrationWithQueryAsync(OrchestrationQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.PageSize, 1, nameof(query));
        cancellationToken.ThrowIfCancellationRequested();
        HashSet<OrchestrationStatus>? statuses = query.RuntimeStatus is { Count: > 0 } wanted ? [.. wanted] : null;
        if (query.TaskHubNames is { Count: > 0 } hubs && !hubs.Contains(TaskHubName, StringComparer.OrdinalIgnoreCase))
        {
            return Task.FromResult(new OrchestrationQueryResult([], null));
        }

        var matches = new List<OrchestrationState>();
        lock (_gate)
        {
            foreach (InstanceRecord record in _instances.Values)
            {
                if (record.State is { } state
                    && (query.ContinuationToken is null || string.CompareOrdinal(record.InstanceId, query.ContinuationToken) > 0)
                    && (query.InstanceIdPrefix is null || record.InstanceId.StartsWith(query.InstanceIdPrefix, StringComparison.Ordinal))
                    && (statuses is null || statuses.Contains(state.OrchestrationStatus))
                    && (query.CreatedTimeFrom is not { } from || state.CreatedTime >= from)
                    && (query.CreatedTimeTo is not { } to || state.CreatedTime <= to))
                {
                    matches.Add(query.FetchInputsAndOutputs ? state : state.ClearFieldsImmutably(clearInput: true, clearOutput: true));
                }
            }
        }

        matches.Sort((a, b) => string.CompareOrdinal(a.OrchestrationInstance.InstanceId, b.OrchestrationInstance.InstanceId));
        bool more = matches.Count > query.PageSize;
        List<OrchestrationState> page = more ? matches.GetRange(0, query.PageSize) : matches;
        string? continuation = more ? page[^1].OrchestrationInstance.InstanceId : null;
        return Task.FromResult(new OrchestrationQueryResult(page, continuation));
    }

    private static DateTime TimeOf(OrchestrationState state, OrchestrationStateTimeRangeFilterType type) => type switch
    {
        OrchestrationStateTimeRangeFilterType.OrchestrationCreatedTimeFilter => state.CreatedTime,
        OrchestrationStateTimeRangeFilterType.OrchestrationCompletedTimeFilter => state.CompletedTime,
        OrchestrationStateTimeRangeFilterType.OrchestrationLastUpdatedTimeFilter => state.LastUpdatedTime,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, string.Format(CultureInfo.InvariantCulture, "Unknown time range filter {0}.", type)),
    };

    private int PurgeWhere(Func<OrchestrationState, bool> predicate)
    {
        var chosen = new List<InstanceRecord>();
        foreach (InstanceRecord record in _instances.Values)
        {
            if (record.State is { } state && predicate(state))
            {
                chosen.Add(record);
            }
        }

        int purged = 0;
        foreach (InstanceRecord record in chosen)
        {
            purged += Purge(record) ? 1 : 0;
        }

        return purged;
    }

    private bool Purge(InstanceRecord record)
    {
        if (record.State is not { } state || !IsTerminal(state.OrchestrationStatus) || record.LockedBy is not null)
        {
            return false;
        }

        record.State = null;
        record.History = null;
        record.HistoryExecutionId = null;
        record.TerminatedBeforeStart = null;
        ForgetIfEmpty(record);
        return true;
    }

    private void GiveUpWaiting(InstanceRecord record, CompletionWaiter waiter)
    {
        lock (_gate)
        {
            if (record.Waiters.Remove(waiter))
            {
                waiter.Completion.TrySetResult(null);
                ForgetIfEmpty(record);
            }
        }
    }
}
