using Workflows.Durable.History;
using Workflows.Durable.Serialization;
using Workflows.Durable.Storage;

namespace Workflows.Durable.Client;

/// <summary>
/// Starts and manages orchestration instances: the operations of Durable Functions' durable client
/// (<c>[DurableClient]</c>) over any storage provider.
/// </summary>
public sealed class DurableTaskClient
{
    private readonly IStorageProvider _provider;
    private readonly DataConverter _converter;
    private readonly TimeProvider _time;

    /// <summary>Creates a client.</summary>
    public DurableTaskClient(IStorageProvider provider, DataConverter? dataConverter = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _provider = provider;
        _converter = dataConverter ?? JsonDataConverter.Default;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The data converter used for inputs, outputs and event payloads.</summary>
    public DataConverter DataConverter => _converter;

    /// <summary>
    /// Schedules a new instance of orchestrator <paramref name="orchestratorName"/> and returns its id. Reusing the
    /// id of a finished instance replaces it; the id of a Pending, Running or Suspended one is a conflict.
    /// </summary>
    /// <exception cref="OrchestrationAlreadyExistsException">The id is in use by an unfinished instance.</exception>
    public async Task<string> ScheduleNewOrchestrationInstanceAsync(
        string orchestratorName,
        object? input = null,
        StartOrchestrationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orchestratorName);
        var instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        InstanceIds.Validate(instanceId);
        var startAt = options?.StartAt?.UtcDateTime;
        var started = new ExecutionStarted(
            Now(),
            orchestratorName,
            instanceId,
            Guid.NewGuid().ToString("N"),
            _converter.Serialize(input),
            ScheduledStartTime: startAt);
        await _provider.CreateInstanceAsync(new OrchestrationMessage(instanceId, started.ExecutionId, started, startAt), cancellationToken).ConfigureAwait(false);
        return instanceId;
    }

    /// <summary>Reads an instance's state, or null when it does not exist.</summary>
    public Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellationToken = default) =>
        _provider.GetInstanceAsync(instanceId, getInputsAndOutputs, cancellationToken);

    /// <summary>Reads the history of the instance's current execution.</summary>
    public Task<IReadOnlyList<HistoryEvent>> GetOrchestrationHistoryAsync(string instanceId, CancellationToken cancellationToken = default) =>
        _provider.GetHistoryAsync(instanceId, cancellationToken);

    /// <summary>Queries instances one page at a time; pass the returned continuation token for the next page.</summary>
    public Task<OrchestrationQueryResult> QueryInstancesAsync(OrchestrationQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        return _provider.QueryInstancesAsync(query, cancellationToken);
    }

    /// <summary>Waits until the instance has started (is no longer Pending).</summary>
    public Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellationToken = default) =>
        _provider.WaitForInstanceAsync(instanceId, static m => m.RuntimeStatus != OrchestrationRuntimeStatus.Pending, getInputsAndOutputs, cancellationToken);

    /// <summary>Waits until the instance is Completed, Failed or Terminated.</summary>
    public Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellationToken = default) =>
        _provider.WaitForInstanceAsync(instanceId, static m => m.IsCompleted, getInputsAndOutputs, cancellationToken);

    /// <summary>Waits until <paramref name="condition"/> holds for the instance's state.</summary>
    public Task<OrchestrationMetadata> WaitForInstanceAsync(
        string instanceId,
        Func<OrchestrationMetadata, bool> condition,
        bool getInputsAndOutputs = false,
        CancellationToken cancellationToken = default) =>
        _provider.WaitForInstanceAsync(instanceId, condition, getInputsAndOutputs, cancellationToken);

    /// <summary>Raises external event <paramref name="eventName"/> on a running instance.</summary>
    public async Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
        await RequireUnfinishedAsync(instanceId, "raise an event on", cancellationToken).ConfigureAwait(false);
        await SendAsync(instanceId, new EventRaised(Now(), eventName, _converter.Serialize(eventPayload)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Terminates a running instance; with <paramref name="recursive"/>, its running sub-orchestrations too.</summary>
    public async Task TerminateInstanceAsync(string instanceId, string? reason = null, bool recursive = false, CancellationToken cancellationToken = default)
    {
        await RequireUnfinishedAsync(instanceId, "terminate", cancellationToken).ConfigureAwait(false);
        await SendAsync(instanceId, new ExecutionTerminated(Now(), reason, recursive), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Suspends a running instance: it keeps receiving events but processes none until resumed.</summary>
    public async Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellationToken = default)
    {
        await RequireUnfinishedAsync(instanceId, "suspend", cancellationToken).ConfigureAwait(false);
        await SendAsync(instanceId, new ExecutionSuspended(Now(), reason), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Resumes a suspended instance.</summary>
    public async Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellationToken = default)
    {
        await RequireUnfinishedAsync(instanceId, "resume", cancellationToken).ConfigureAwait(false);
        await SendAsync(instanceId, new ExecutionResumed(Now(), reason), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Rewinds a Failed instance: failed activities and sub-orchestrations run again from the point of the first
    /// failure, and the instance continues as if they had not failed.
    /// </summary>
    public async Task RewindInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellationToken = default)
    {
        var metadata = await _provider.GetInstanceAsync(instanceId, false, cancellationToken).ConfigureAwait(false) ?? throw new OrchestrationNotFoundException(instanceId);
        if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Failed)
        {
            throw new OrchestrationStateConflictException(instanceId, metadata.RuntimeStatus, "rewind (only Failed instances can be rewound)");
        }

        await SendAsync(instanceId, new ExecutionRewound(Now(), reason), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts the instance again with its original name and input: under the same id (which must have finished)
    /// or, with <paramref name="restartWithNewInstanceId"/>, under a new one. Returns the id that runs.
    /// </summary>
    public async Task<string> RestartAsync(string instanceId, bool restartWithNewInstanceId = false, CancellationToken cancellationToken = default)
    {
        var metadata = await _provider.GetInstanceAsync(instanceId, true, cancellationToken).ConfigureAwait(false) ?? throw new OrchestrationNotFoundException(instanceId);
        var newId = restartWithNewInstanceId ? Guid.NewGuid().ToString("N") : instanceId;
        var started = new ExecutionStarted(Now(), metadata.Name, newId, Guid.NewGuid().ToString("N"), metadata.SerializedInput);
        await _provider.CreateInstanceAsync(new OrchestrationMessage(newId, started.ExecutionId, started), cancellationToken).ConfigureAwait(false);
        return newId;
    }

    /// <summary>Deletes a finished instance and its history; false when it does not exist or is still running.</summary>
    public Task<bool> PurgeInstanceAsync(string instanceId, CancellationToken cancellationToken = default) =>
        _provider.PurgeInstanceAsync(instanceId, cancellationToken);

    /// <summary>Deletes the finished instances matching <paramref name="filter"/>; returns how many.</summary>
    public Task<int> PurgeAllInstancesAsync(PurgeInstancesFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Statuses?.Any(s => !s.IsTerminal()) == true)
        {
            throw new ArgumentException("Only Completed, Failed, Terminated or Canceled instances can be purged.", nameof(filter));
        }

        return _provider.PurgeInstancesAsync(filter, cancellationToken);
    }

    private async Task RequireUnfinishedAsync(string instanceId, string operation, CancellationToken cancellationToken)
    {
        var metadata = await _provider.GetInstanceAsync(instanceId, false, cancellationToken).ConfigureAwait(false) ?? throw new OrchestrationNotFoundException(instanceId);
        if (metadata.IsCompleted)
        {
            throw new OrchestrationStateConflictException(instanceId, metadata.RuntimeStatus, operation);
        }
    }

    private Task SendAsync(string instanceId, HistoryEvent historyEvent, CancellationToken cancellationToken) =>
        _provider.SendMessageAsync(new OrchestrationMessage(instanceId, null, historyEvent), cancellationToken);

    private DateTime Now() => _time.GetUtcNow().UtcDateTime;
}
