using System.Globalization;
using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Core = DurableTask.Core;
using CorePurgeResult = DurableTask.Core.PurgeResult;
using PurgeResult = Microsoft.DurableTask.Client.PurgeResult;

namespace Workflows.DurableTask.Client;

/// <summary>
/// The official SDK's <see cref="DurableTaskClient"/> over any Durable Task Framework backend's
/// <see cref="IOrchestrationServiceClient"/>: product code schedules, queries, signals and purges instances through
/// the official client type whichever backend holds them. Queries need the backend's
/// <see cref="IOrchestrationServiceQueryClient"/> and purges its <see cref="IOrchestrationServicePurgeClient"/>.
/// </summary>
public sealed class OrchestrationServiceDurableTaskClient : DurableTaskClient
{
    private readonly IOrchestrationServiceClient _client;
    private readonly OrchestrationServiceClientOptions _options;

    /// <summary>Creates a client named <paramref name="name"/> over <paramref name="client"/>.</summary>
    public OrchestrationServiceDurableTaskClient(IOrchestrationServiceClient client, OrchestrationServiceClientOptions? options = null, string name = "default")
        : base(name)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _options = options ?? new OrchestrationServiceClientOptions();
        _options.Validate();
    }

    private DataConverter DataConverter => _options.DataConverter;

    /// <summary>
    /// Schedules a new instance. An instance with the same id that is still pending, running or suspended is
    /// terminated first (and waited for) unless <see cref="StartOrchestrationOptions.DedupeStatuses"/> names its
    /// status, which makes this throw <see cref="OrchestrationAlreadyExistsException"/>.
    /// </summary>
    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orchestratorName.Name, nameof(orchestratorName));
        cancellation.ThrowIfCancellationRequested();
        string instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        InstanceIds.Validate(instanceId);
        var instance = new OrchestrationInstance { InstanceId = instanceId, ExecutionId = Guid.NewGuid().ToString("N") };
        var tags = options?.Tags is { } given ? new Dictionary<string, string>(given, StringComparer.Ordinal) : [];
        var message = new TaskMessage
        {
            OrchestrationInstance = instance,
            Event = new ExecutionStartedEvent(-1, DataConverter.Serialize(input))
            {
                Name = orchestratorName.Name,
                Version = options?.Version?.Version ?? string.Empty,
                OrchestrationInstance = instance,
                ScheduledStartTime = options?.StartAt?.UtcDateTime,
                Tags = tags,
            },
        };

        Core.OrchestrationStatus[]? dedupe = options?.DedupeStatuses is { Count: > 0 } statuses
            ? [.. statuses.Select(CoreConversions.ParseCoreStatus)]
            : null;
        await TerminateReusableInstanceAsync(instanceId, dedupe, cancellation).ConfigureAwait(false);
        await _client.CreateTaskOrchestrationAsync(message, dedupe!).ConfigureAwait(false);
        return instanceId;
    }

    /// <inheritdoc />
    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
        return SendAsync(instanceId, new EventRaisedEvent(-1, DataConverter.Serialize(eventPayload)) { Name = eventName }, cancellation);
    }

    /// <summary>
    /// Terminates the instance; the termination output is the serialized <see cref="TerminateInstanceOptions.Output"/>.
    /// With <see cref="TerminateInstanceOptions.Recursive"/>, the sub-orchestrations its current execution started that
    /// have not finished are terminated too (with the same output), and theirs in turn.
    /// </summary>
    public override async Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        cancellation.ThrowIfCancellationRequested();
        string? output = DataConverter.Serialize(options?.Output);
        await _client.ForceTerminateTaskOrchestrationAsync(instanceId, output).ConfigureAwait(false);
        if (options?.Recursive == true)
        {
            await TerminateSubOrchestrationsAsync(instanceId, output, cancellation).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionSuspendedEvent(-1, reason), cancellation);

    /// <inheritdoc />
    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionResumedEvent(-1, reason), cancellation);

    /// <summary>Polls the instance every <see cref="OrchestrationServiceClientOptions.StatusPollingInterval"/> (1 s unset) until it has left Pending.</summary>
    public override async Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        while (true)
        {
            OrchestrationMetadata metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"No orchestration instance '{instanceId}' exists.");
            if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Pending)
            {
                return metadata;
            }

            await Task.Delay(_options.StartPollingInterval, _options.TimeProvider, cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until the instance is Completed, Failed, Terminated or Canceled (a ContinueAsNew is not an end).</summary>
    public override async Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        if (_options.StatusPollingInterval is not { } interval)
        {
            OrchestrationState state = await _client.WaitForOrchestrationAsync(instanceId, null!, Timeout.InfiniteTimeSpan, cancellation).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The wait for orchestration instance '{instanceId}' ended without its state.");
            return ToMetadata(state, getInputsAndOutputs);
        }

        while (true)
        {
            OrchestrationMetadata? metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation).ConfigureAwait(false);
            if (metadata is { IsCompleted: true })
            {
                return metadata;
            }

            await Task.Delay(interval, _options.TimeProvider, cancellation).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override async Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        cancellation.ThrowIfCancellationRequested();
        IList<OrchestrationState> states = await _client.GetOrchestrationStateAsync(instanceId, allExecutions: false).ConfigureAwait(false);
        // DTFx's Azure Storage provider answers an unknown id with a list holding null.
        OrchestrationState? state = states?.FirstOrDefault(s => s is not null);
        return state is null ? null : ToMetadata(state, getInputsAndOutputs);
    }

    /// <inheritdoc />
    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(Microsoft.DurableTask.Client.OrchestrationQuery? filter = null) =>
        GetAllInstancesAsync(filter, namePrefix: null);

    /// <summary>
    /// The instances that match <paramref name="filter"/> and, when <paramref name="namePrefix"/> is given, whose
    /// orchestration name starts with it (ignoring case). A backend that implements
    /// <see cref="IOrchestrationServiceNameQueryClient"/> filters by name in its query; on any other, each page is
    /// filtered here, so a page may hold fewer instances than asked for (even none) and still have a next one.
    /// </summary>
    public AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(Microsoft.DurableTask.Client.OrchestrationQuery? filter, string? namePrefix)
    {
        IOrchestrationServiceQueryClient queries = Backend<IOrchestrationServiceQueryClient>();
        string? name = string.IsNullOrEmpty(namePrefix) ? null : namePrefix;
        IOrchestrationServiceNameQueryClient? byName = name is null ? null : _client as IOrchestrationServiceNameQueryClient;
        return Pageable.Create(async (continuation, pageSize, cancellation) =>
        {
            var query = new Core.Query.OrchestrationQuery
            {
                RuntimeStatus = filter?.Statuses?.Select(s => s.ToCoreStatus()).ToList(),
                CreatedTimeFrom = filter?.CreatedFrom?.UtcDateTime,
                CreatedTimeTo = filter?.CreatedTo?.UtcDateTime,
                TaskHubNames = filter?.TaskHubNames?.ToList(),
                PageSize = pageSize ?? filter?.PageSize ?? Microsoft.DurableTask.Client.OrchestrationQuery.DefaultPageSize,
                ContinuationToken = continuation ?? filter?.ContinuationToken,
                InstanceIdPrefix = filter?.InstanceIdPrefix,
                FetchInputsAndOutputs = filter?.FetchInputsAndOutputs ?? false,
            };
            OrchestrationQueryResult result = byName is not null
                ? await byName.GetOrchestrationWithQueryAsync(query, name!, cancellation).ConfigureAwait(false)
                : await queries.GetOrchestrationWithQueryAsync(query, cancellation).ConfigureAwait(false);
            IEnumerable<OrchestrationState> states = result.OrchestrationState;
            if (name is not null && byName is null)
            {
                states = states.Where(s => s.Name is not null && s.Name.StartsWith(name, StringComparison.OrdinalIgnoreCase));
            }

            List<OrchestrationMetadata> page = [.. states.Select(s => ToMetadata(s, query.FetchInputsAndOutputs))];
            return new Page<OrchestrationMetadata>(page, result.ContinuationToken);
        });
    }

    /// <summary>
    /// How many instances match <paramref name="filter"/> (and <paramref name="namePrefix"/>), by runtime status: one
    /// pass over the backend's query in pages of <paramref name="pageSize"/>, without inputs and outputs, that stops
    /// once <paramref name="limit"/> instances are counted (the answer is then not <see cref="InstanceCounts.Complete"/>).
    /// </summary>
    public async Task<InstanceCounts> CountInstancesAsync(
        Microsoft.DurableTask.Client.OrchestrationQuery? filter, string? namePrefix, long limit = long.MaxValue, int pageSize = 1000, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var counts = new Dictionary<OrchestrationRuntimeStatus, long>();
        var query = (filter ?? new Microsoft.DurableTask.Client.OrchestrationQuery()) with { FetchInputsAndOutputs = false, PageSize = (int)Math.Min(pageSize, limit) };
        long counted = 0;
        await foreach (OrchestrationMetadata instance in GetAllInstancesAsync(query, namePrefix).WithCancellation(cancellation).ConfigureAwait(false))
        {
            if (counted == limit)
            {
                return new InstanceCounts(counts, Complete: false);
            }

            counts[instance.RuntimeStatus] = counts.GetValueOrDefault(instance.RuntimeStatus) + 1;
            counted++;
        }

        return new InstanceCounts(counts, Complete: true);
    }

    /// <summary>Purges a finished instance (one still running makes this throw <see cref="InvalidOperationException"/>).</summary>
    public override async Task<PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        IOrchestrationServicePurgeClient purge = Backend<IOrchestrationServicePurgeClient>();
        OrchestrationMetadata? metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs: false, cancellation).ConfigureAwait(false);
        if (metadata is null)
        {
            return new PurgeResult(0);
        }

        if (!metadata.IsCompleted)
        {
            throw new InvalidOperationException(
                $"Only a finished orchestration can be purged; instance '{instanceId}' is {metadata.RuntimeStatus}.");
        }

        CorePurgeResult result = await purge.PurgeInstanceStateAsync(instanceId).ConfigureAwait(false);
        return new PurgeResult(result.DeletedInstanceCount, result.IsComplete);
    }

    /// <inheritdoc />
    public override async Task<PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        IOrchestrationServicePurgeClient purge = Backend<IOrchestrationServicePurgeClient>();
        cancellation.ThrowIfCancellationRequested();
        var coreFilter = new PurgeInstanceFilter(
            filter.CreatedFrom?.UtcDateTime ?? DateTime.MinValue,
            filter.CreatedTo?.UtcDateTime,
            filter.Statuses?.Select(s => s.ToCoreStatus()))
        {
            Timeout = filter.Timeout,
        };
        CorePurgeResult result = await purge.PurgeInstanceStateAsync(coreFilter).ConfigureAwait(false);
        return new PurgeResult(result.DeletedInstanceCount, result.IsComplete);
    }

    /// <summary>
    /// The history of the instance's current execution, oldest first. An instance that does not exist makes this
    /// throw <see cref="ArgumentException"/>, as the SDK documents.
    /// </summary>
    public override async Task<IList<HistoryEvent>> GetOrchestrationHistoryAsync(string instanceId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        _ = await GetInstancesAsync(instanceId, getInputsAndOutputs: false, cancellation).ConfigureAwait(false)
            ?? throw new ArgumentException($"No orchestration instance '{instanceId}' exists.", nameof(instanceId));
        string json = await _client.GetOrchestrationHistoryAsync(instanceId, null!).ConfigureAwait(false);
        return HistoryJson.Parse(json);
    }

    /// <summary>
    /// Starts the instance again with its name, version and input: under a new id when
    /// <paramref name="restartWithNewInstanceId"/> is set, else under the same id. An instance that does not exist
    /// throws <see cref="ArgumentException"/>; restarting under the same id an instance that has not finished throws
    /// <see cref="InvalidOperationException"/>.
    /// </summary>
    public override async Task<string> RestartAsync(string instanceId, bool restartWithNewInstanceId = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        IList<OrchestrationState> states = await _client.GetOrchestrationStateAsync(instanceId, allExecutions: false).ConfigureAwait(false);
        OrchestrationState state = states?.FirstOrDefault(s => s is not null)
            ?? throw new ArgumentException($"No orchestration instance '{instanceId}' exists.", nameof(instanceId));
        if (!restartWithNewInstanceId && state.OrchestrationStatus.IsLive())
        {
            throw new InvalidOperationException(
                $"Instance '{instanceId}' is {state.OrchestrationStatus.ToRuntimeStatus()}; only a finished instance restarts under its own id.");
        }

        string newId = restartWithNewInstanceId ? Guid.NewGuid().ToString("N") : instanceId;
        var instance = new OrchestrationInstance { InstanceId = newId, ExecutionId = Guid.NewGuid().ToString("N") };
        await _client.CreateTaskOrchestrationAsync(
            new TaskMessage
            {
                OrchestrationInstance = instance,
                Event = new ExecutionStartedEvent(-1, state.Input)
                {
                    Name = state.Name,
                    Version = state.Version ?? string.Empty,
                    OrchestrationInstance = instance,
                    Tags = state.Tags is { } tags ? new Dictionary<string, string>(tags, StringComparer.Ordinal) : [],
                },
            },
            [Core.OrchestrationStatus.Pending, Core.OrchestrationStatus.Running, Core.OrchestrationStatus.Suspended]).ConfigureAwait(false);
        return newId;
    }

    /// <summary>
    /// Rewinds a Failed instance: DTFx's dispatcher removes the failed tasks from its history and runs them again.
    /// An instance that does not exist throws <see cref="ArgumentException"/>; one that is not Failed throws
    /// <see cref="InvalidOperationException"/>. The backend must deliver the rewind message to the failed instance.
    /// </summary>
    public override async Task RewindInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        OrchestrationMetadata metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs: false, cancellation).ConfigureAwait(false)
            ?? throw new ArgumentException($"No orchestration instance '{instanceId}' exists.", nameof(instanceId));
        if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Failed)
        {
            throw new InvalidOperationException($"Only a Failed instance can be rewound; instance '{instanceId}' is {metadata.RuntimeStatus}.");
        }

        if (_options.Rewind is { } rewind)
        {
            await rewind(instanceId, reason).ConfigureAwait(false);
            return;
        }

        // DTFx's dispatcher gives the rewound execution a new trace span from the request's trace context, and needs
        // one: a fresh W3C trace parent.
        await SendAsync(
            instanceId,
            new ExecutionRewoundEvent(-1, reason) { ParentTraceContext = TraceContexts.NewRoot() },
            cancellation).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private T Backend<T>()
        where T : class =>
        _client as T ?? throw new NotSupportedException($"The backend's client ({_client.GetType().Name}) does not implement {typeof(T).Name}.");

    private Task SendAsync(string instanceId, HistoryEvent historyEvent, CancellationToken cancellation)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        cancellation.ThrowIfCancellationRequested();
        return _client.SendTaskOrchestrationMessageAsync(new TaskMessage
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId },
            Event = historyEvent,
        });
    }

    /// <summary>Terminates the unfinished sub-orchestrations that the history of <paramref name="instanceId"/> shows it started, depth first.</summary>
    private async Task TerminateSubOrchestrationsAsync(string instanceId, string? output, CancellationToken cancellation)
    {
        string json = await _client.GetOrchestrationHistoryAsync(instanceId, null!).ConfigureAwait(false);
        IEnumerable<string> children = HistoryJson.Parse(json)
            .OfType<SubOrchestrationInstanceCreatedEvent>()
            .Select(created => created.InstanceId)
            .Distinct(StringComparer.Ordinal);
        foreach (string child in children)
        {
            OrchestrationMetadata? state = await GetInstancesAsync(child, getInputsAndOutputs: false, cancellation).ConfigureAwait(false);
            if (state is { IsCompleted: false })
            {
                await _client.ForceTerminateTaskOrchestrationAsync(child, output).ConfigureAwait(false);
                await TerminateSubOrchestrationsAsync(child, output, cancellation).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The official client's rule for reusing an instance id: a live instance is terminated (and waited for) unless
    /// the dedupe statuses name its status.
    /// </summary>
    private async Task TerminateReusableInstanceAsync(string instanceId, Core.OrchestrationStatus[]? dedupe, CancellationToken cancellation)
    {
        OrchestrationMetadata? existing = await GetInstancesAsync(instanceId, getInputsAndOutputs: false, cancellation).ConfigureAwait(false);
        if (existing is null)
        {
            return;
        }

        Core.OrchestrationStatus status = existing.RuntimeStatus.ToCoreStatus();
        if (dedupe is not null && dedupe.Contains(status))
        {
            throw new OrchestrationAlreadyExistsException(
                $"An orchestration with instance ID '{instanceId}' and status {existing.RuntimeStatus} already exists.");
        }

        if (status.IsLive())
        {
            string reason = string.Format(
                CultureInfo.InvariantCulture,
                "A new instance with the id '{0}' was scheduled while it was {1}; it was terminated to make way.",
                instanceId,
                existing.RuntimeStatus);
            await TerminateInstanceAsync(instanceId, reason, cancellation).ConfigureAwait(false);
            _ = await WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: false, cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// DTFx's Azure Storage provider keeps no failure details: it stores <c>FailureDetails.ToString()</c>
    /// ("ErrorType: ErrorMessage") as the failed instance's output. This reads them back (without inner failures).
    /// </summary>
    private static TaskFailureDetails? FailureFromOutput(OrchestrationState state)
    {
        if (state.OrchestrationStatus != Core.OrchestrationStatus.Failed || string.IsNullOrEmpty(state.Output))
        {
            return null;
        }

        int colon = state.Output.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && !state.Output.AsSpan(0, colon).ContainsAny(' ', '"', '\n')
            ? new TaskFailureDetails(state.Output[..colon], state.Output[(colon + 2)..], null, null, null)
            : new TaskFailureDetails(typeof(Exception).FullName!, state.Output, null, null, null);
    }

    private OrchestrationMetadata ToMetadata(OrchestrationState state, bool getInputsAndOutputs) =>
        new(state.Name, state.OrchestrationInstance.InstanceId)
        {
            DataConverter = getInputsAndOutputs ? DataConverter : null,
            RuntimeStatus = state.OrchestrationStatus.ToRuntimeStatus(),
            CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.CreatedTime, DateTimeKind.Utc)),
            LastUpdatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc)),
            SerializedInput = getInputsAndOutputs ? state.Input : null,
            SerializedOutput = getInputsAndOutputs ? state.Output : null,
            SerializedCustomStatus = getInputsAndOutputs ? state.Status : null,
            FailureDetails = state.FailureDetails.ToTaskFailureDetails() ?? FailureFromOutput(state),
            Tags = state.Tags is { } tags ? new Dictionary<string, string>(tags, StringComparer.Ordinal) : new Dictionary<string, string>(),
        };
}
