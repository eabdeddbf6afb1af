using Workflows.Durable.History;
using Workflows.Durable.Storage;
using Workflows.DurableTask.Client;
using Dt = global::DurableTask.Core;
using DtExceptions = global::DurableTask.Core.Exceptions;
using DtHistory = global::DurableTask.Core.History;
using DtQuery = global::DurableTask.Core.Query;
using DtSerializing = global::DurableTask.Core.Serializing;

namespace Workflows.Durable.AzureStorage.Core;

/// <summary>The client side of the task hub as a DTFx backend: creating, messaging, waiting for, querying and purging instances.</summary>
public sealed partial class TaskHubOrchestrationService : Dt.IOrchestrationServiceClient, DtQuery.IOrchestrationServiceQueryClient, Dt.IOrchestrationServicePurgeClient, IOrchestrationServiceNameQueryClient
{
    private static readonly DtSerializing.JsonDataConverter HistoryConverter = new();

    private static readonly OrchestrationRuntimeStatus[] Finished =
        [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated, OrchestrationRuntimeStatus.Canceled];

    /// <inheritdoc />
    public Task CreateTaskOrchestrationAsync(Dt.TaskMessage creationMessage) => CreateTaskOrchestrationAsync(creationMessage, null!);

    /// <summary>
    /// Creates an instance. An existing instance whose status is in <paramref name="dedupeStatuses"/>, or one that is
    /// still pending, running or suspended, makes this throw DTFx's <see cref="DtExceptions.OrchestrationAlreadyExistsException"/>
    /// (terminate it first); a finished one is replaced by the new execution. A scheduled start becomes visible at its time.
    /// </summary>
    public async Task CreateTaskOrchestrationAsync(Dt.TaskMessage creationMessage, Dt.OrchestrationStatus[] dedupeStatuses)
    {
        ArgumentNullException.ThrowIfNull(creationMessage);
        if (creationMessage.Event is not DtHistory.ExecutionStartedEvent started)
        {
            throw new ArgumentException($"Only {nameof(DtHistory.EventType.ExecutionStarted)} messages create instances.", nameof(creationMessage));
        }

        var instanceId = creationMessage.OrchestrationInstance?.InstanceId;
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId, nameof(creationMessage));
        if (dedupeStatuses is { Length: > 0 }
            && await _provider.GetInstanceAsync(instanceId, fetchInputsAndOutputs: false).ConfigureAwait(false) is { } existing
            && dedupeStatuses.Contains(existing.RuntimeStatus.ToCore()))
        {
            throw new DtExceptions.OrchestrationAlreadyExistsException(
                $"An orchestration with instance ID '{instanceId}' already exists with status {existing.RuntimeStatus}.");
        }

        try
        {
            await _provider.CreateInstanceAsync(creationMessage.ToStorage(started.ScheduledStartTime)).ConfigureAwait(false);
        }
        catch (OrchestrationAlreadyExistsException exception)
        {
            throw new DtExceptions.OrchestrationAlreadyExistsException(exception.Message, exception);
        }
    }

    /// <summary>Sends a message to an instance; one for an instance that does not exist, or has finished, is dropped.</summary>
    public Task SendTaskOrchestrationMessageAsync(Dt.TaskMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _provider.SendMessageAsync(message.ToStorage());
    }

    /// <inheritdoc />
    public async Task SendTaskOrchestrationMessageBatchAsync(params Dt.TaskMessage[] messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            await SendTaskOrchestrationMessageAsync(message).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until the instance (or the given execution of it) is Completed, Failed, Terminated or Canceled and returns
    /// its state; null when <paramref name="timeout"/> passes first.
    /// </summary>
    public async Task<Dt.OrchestrationState> WaitForOrchestrationAsync(string instanceId, string executionId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            wait.CancelAfter(timeout);
        }

        try
        {
            var done = await _provider.WaitForInstanceAsync(
                instanceId,
                m => m.RuntimeStatus.IsTerminal() && (string.IsNullOrEmpty(executionId) || string.Equals(m.ExecutionId, executionId, StringComparison.Ordinal)),
                fetchInputsAndOutputs: true,
                wait.Token).ConfigureAwait(false);
            return done.ToCore();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null!;
        }
    }

    /// <summary>Terminates the instance: <paramref name="reason"/> becomes its output.</summary>
    public Task ForceTerminateTaskOrchestrationAsync(string instanceId, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        return _provider.SendMessageAsync(new OrchestrationMessage(instanceId, null, new ExecutionTerminated(DateTime.UtcNow, reason)));
    }

    /// <summary>The state of the instance's current execution (the task hub keeps only the current one), or none.</summary>
    public async Task<IList<Dt.OrchestrationState>> GetOrchestrationStateAsync(string instanceId, bool allExecutions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        var metadata = await _provider.GetInstanceAsync(instanceId, fetchInputsAndOutputs: true).ConfigureAwait(false);
        return metadata is null ? [] : [metadata.ToCore()];
    }

    /// <inheritdoc />
    public async Task<Dt.OrchestrationState> GetOrchestrationStateAsync(string instanceId, string executionId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        var metadata = await _provider.GetInstanceAsync(instanceId, fetchInputsAndOutputs: true).ConfigureAwait(false);
        return metadata is not null && (string.IsNullOrEmpty(executionId) || string.Equals(metadata.ExecutionId, executionId, StringComparison.Ordinal))
            ? metadata.ToCore()
            : null!;
    }

    /// <summary>The committed history of the instance's current execution as JSON (DurableTask.Core's converter), or an empty array.</summary>
    public async Task<string> GetOrchestrationHistoryAsync(string instanceId, string executionId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        var history = await _provider.GetHistoryAsync(instanceId).ConfigureAwait(false);
        var current = history.OfType<ExecutionStarted>().FirstOrDefault()?.ExecutionId;
        DtHistory.HistoryEvent[] events = string.IsNullOrEmpty(executionId) || string.Equals(current, executionId, StringComparison.Ordinal)
            ? [.. history.Select(e => e.ToCore())]
            : [];
        return HistoryConverter.Serialize(events);
    }

    /// <summary>Removes the finished instances whose chosen time lies before <paramref name="thresholdDateTimeUtc"/>.</summary>
    public async Task PurgeOrchestrationHistoryAsync(DateTime thresholdDateTimeUtc, Dt.OrchestrationStateTimeRangeFilterType timeRangeFilterType)
    {
        var threshold = new DateTimeOffset(DateTime.SpecifyKind(thresholdDateTimeUtc, DateTimeKind.Utc));
        if (timeRangeFilterType == Dt.OrchestrationStateTimeRangeFilterType.OrchestrationCreatedTimeFilter)
        {
            _ = await _provider.PurgeInstancesAsync(new PurgeInstancesFilter { CreatedTo = threshold }).ConfigureAwait(false);
            return;
        }

        // The task hub records when an instance last changed; a finished instance's last change is its completion.
        var chosen = new List<string>();
        string? token = null;
        do
        {
            var page = await _provider.QueryInstancesAsync(new OrchestrationQuery { Statuses = Finished, PageSize = OrchestrationQuery.MaxPageSize, ContinuationToken = token }).ConfigureAwait(false);
            chosen.AddRange(page.Instances.Where(m => m.LastUpdatedAt < threshold).Select(m => m.InstanceId));
            token = page.ContinuationToken;
        }
        while (token is not null);

        foreach (var instanceId in chosen)
        {
            _ = await _provider.PurgeInstanceAsync(instanceId).ConfigureAwait(false);
        }
    }

    /// <summary>Removes a finished instance with its history; one that is still live is kept (and counts 0).</summary>
    public async Task<Dt.PurgeResult> PurgeInstanceStateAsync(string instanceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        return new Dt.PurgeResult(await _provider.PurgeInstanceAsync(instanceId).ConfigureAwait(false) ? 1 : 0);
    }

    /// <summary>Removes the finished instances created in the filter's range with one of its statuses.</summary>
    public async Task<Dt.PurgeResult> PurgeInstanceStateAsync(Dt.PurgeInstanceFilter purgeInstanceFilter)
    {
        ArgumentNullException.ThrowIfNull(purgeInstanceFilter);
        var purged = await _provider.PurgeInstancesAsync(new PurgeInstancesFilter
        {
            CreatedFrom = new DateTimeOffset(DateTime.SpecifyKind(purgeInstanceFilter.CreatedTimeFrom, DateTimeKind.Utc)),
            CreatedTo = purgeInstanceFilter.CreatedTimeTo is { } to ? new DateTimeOffset(DateTime.SpecifyKind(to, DateTimeKind.Utc)) : null,
            Statuses = purgeInstanceFilter.RuntimeStatus?.Select(s => s.ToStorage()).ToList(),
        }).ConfigureAwait(false);
        return new Dt.PurgeResult(purged, isComplete: true);
    }

    /// <summary>One page of instances in the task hub's order; the continuation token is the provider's.</summary>
    public Task<DtQuery.OrchestrationQueryResult> GetOrchestrationWithQueryAsync(DtQuery.OrchestrationQuery query, CancellationToken cancellationToken) =>
        QueryAsync(query, null, cancellationToken);

    /// <inheritdoc />
    public Task<DtQuery.OrchestrationQueryResult> GetOrchestrationWithQueryAsync(DtQuery.OrchestrationQuery query, string namePrefix, CancellationToken cancellationToken) =>
        QueryAsync(query, namePrefix, cancellationToken);

    private async Task<DtQuery.OrchestrationQueryResult> QueryAsync(DtQuery.OrchestrationQuery query, string? namePrefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.TaskHubNames is { Count: > 0 } hubs && !hubs.Contains(TaskHubName, StringComparer.OrdinalIgnoreCase))
        {
            return new DtQuery.OrchestrationQueryResult([], null);
        }

        var page = await _provider.QueryInstancesAsync(
            new OrchestrationQuery
            {
                InstanceIdPrefix = query.InstanceIdPrefix,
                NamePrefix = namePrefix,
                Statuses = query.RuntimeStatus is { Count: > 0 } statuses ? statuses.Select(s => s.ToStorage()).ToList() : null,
                CreatedFrom = query.CreatedTimeFrom is { } from ? new DateTimeOffset(DateTime.SpecifyKind(from, DateTimeKind.Utc)) : null,
                CreatedTo = query.CreatedTimeTo is { } to ? new DateTimeOffset(DateTime.SpecifyKind(to, DateTimeKind.Utc)) : null,
                PageSize = Math.Clamp(query.PageSize, 1, OrchestrationQuery.MaxPageSize),
                ContinuationToken = query.ContinuationToken,
                FetchInputsAndOutputs = query.FetchInputsAndOutputs,
            },
            cancellationToken).ConfigureAwait(false);
        return new DtQuery.OrchestrationQueryResult([.. page.Instances.Select(m => m.ToCore())], page.ContinuationToken);
    }
}
