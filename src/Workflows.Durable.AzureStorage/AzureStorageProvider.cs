using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Task hub on Azure Storage (Azurite locally): an Instances table row per instance, History table rows per
/// event, control queues for orchestration messages, a work-item queue for activities, blobs for large payloads.
/// See docs/task-hub-commit-protocol.md for the order of writes and why a crash loses nothing.
/// </summary>
/// <remarks>
/// Any number of workers share a hub: each owns a share of the control-queue partitions by blob lease
/// (<see cref="PartitionLeaseManager"/>) and only polls and locks instances of its own partitions. Clients
/// that never fetch work items take no leases.
/// </remarks>
public sealed class AzureStorageProvider : IStorageProvider, IAsyncDisposable
{
    /// <summary>Bound of the per-instance cache of last committed sentinels.</summary>
    private const int MaxCachedInstances = 10_000;
    private static readonly TimeSpan MaxQueueDelay = TimeSpan.FromDays(6);
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(10);

    private readonly TaskHubClients _clients;
    private readonly LargePayloadStore _payloads;
    private readonly HistoryStore _history;
    private readonly InstanceTable _instances;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _maxPollingInterval;
    private readonly HeldMessages _held;
    private readonly int _maxDequeueCount;
    private readonly int _maxLocalActivityBacklog;
    private readonly PartitionLeaseManager? _leases;
    private readonly QueuePoller _controlPoller;
    private readonly QueuePoller _activityPoller;
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private bool _started;
    private int _disposed;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, InstanceBuffer> _buffers = new(StringComparer.Ordinal);
    private readonly Queue<ReceivedActivity> _activities = new();
    private readonly Dictionary<string, InFlightActivities> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TableEntity> _sentinels = new(StringComparer.Ordinal);
    private TaskCompletionSource _orchestrationWork = NewSignal();
    private TaskCompletionSource _activityWork = NewSignal();
    private long _nextToken;

    /// <summary>
    /// Creates the provider; call <see cref="CreateIfNotExistsAsync"/> (the worker does) before use.
    /// <paramref name="lockTimeout"/> overrides <see cref="AzureStorageOptions.MessageVisibilityTimeout"/>.
    /// </summary>
    public AzureStorageProvider(AzureStorageOptions options, TimeProvider? timeProvider = null, TimeSpan? lockTimeout = null, ILogger? logger = null)
        : this(options, timeProvider, lockTimeout, usePartitionLeases: true, logger)
    {
    }

    /// <summary>Tests only: without leases, every provider instance polls every partition (to provoke split brain).</summary>
    internal AzureStorageProvider(AzureStorageOptions options, TimeProvider? timeProvider, TimeSpan? lockTimeout, bool usePartitionLeases, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _clients = new TaskHubClients(options);
        _payloads = new LargePayloadStore(_clients.LargeMessages);
        _time = timeProvider ?? TimeProvider.System;
        _history = new HistoryStore(_clients.History, _payloads);
        _instances = new InstanceTable(_clients.Instances, _payloads, _time);
        _logger = logger ?? NullLogger.Instance;
        _maxPollingInterval = options.MaxQueuePollingInterval;
        _held = new HeldMessages(lockTimeout ?? options.MessageVisibilityTimeout, _time);
        _maxDequeueCount = options.MaxDequeueCount;
        _maxLocalActivityBacklog = options.MaxLocalActivityBacklog;
        _controlPoller = new QueuePoller(ReceiveControlMessagesAsync, MinPollingInterval, () => _maxPollingInterval, _time);

        // Activities of owned instances run in-process; the shared work-item queue holds only what a busy worker
        // spilled for others. Alone on the hub, a worker finds there only what dead workers left behind (spilled
        // activities reappear after the visibility timeout), so it polls that queue four times less often when idle.
        _activityPoller = new QueuePoller(ReceiveActivitiesAsync, MinPollingInterval, () => _leases is { LiveWorkers: > 1 } ? _maxPollingInterval : _maxPollingInterval * 4, _time);
        if (usePartitionLeases)
        {
            _leases = new PartitionLeaseManager(_clients, options, _time, CanReleasePartition, ReleasePartitionAsync, _logger);
        }
    }

    /// <summary>Tests only: lease rounds that storage failed and the lease loop rode out.</summary>
    internal int FailedLeaseRounds => _leases?.FailedRounds ?? 0;

    /// <summary>Partitions this provider currently owns (all of them when leases are off).</summary>
    public IReadOnlyCollection<int> OwnedPartitions => _leases?.Owned ?? Enumerable.Range(0, _clients.ControlQueues.Count).ToArray();

    /// <summary>Stops polling, releases the partition leases (so other workers take over at once) and stops renewing them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _controlPoller.DisposeAsync().ConfigureAwait(false);
        await _activityPoller.DisposeAsync().ConfigureAwait(false);
        await _held.DisposeAsync().ConfigureAwait(false);

        if (_leases is not null && _started)
        {
            await _leases.DisposeAsync().ConfigureAwait(false);
        }

        _startGate.Dispose();
        _stop.Dispose();
    }

    /// <summary>Tests only: how many processed message ids a sentinel remembers (and so the most queue messages per work item).</summary>
    internal int RememberedMessageIds
    {
        get => _history.RememberedMessageIds;
        set => _history.RememberedMessageIds = value;
    }

    /// <summary>Tests only: faults injected between the steps of a commit (none in production).</summary>
    internal ICommitFaults? Faults
    {
        get => _history.Faults;
        set => _history.Faults = value;
    }

    /// <summary>
    /// Tests only: this process receives no more control messages (work items it holds can still be completed), so a
    /// message sent from now on can only reach another process polling the same partition; returns once no receive of
    /// this process is in flight.
    /// </summary>
    internal ValueTask StopControlPollingAsync() => _controlPoller.DisposeAsync();

    /// <summary>The hub's clients, names and transaction counter.</summary>
    public TaskHubClients Clients => _clients;

    /// <inheritdoc/>
    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => _clients.CreateIfNotExistsAsync(cancellationToken);

    // ---- client operations ------------------------------------------------------------------------------

    /// <inheritdoc/>
    public async Task CreateInstanceAsync(OrchestrationMessage executionStarted, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(executionStarted);
        if (executionStarted.Event is not ExecutionStarted started)
        {
            throw new ArgumentException("CreateInstanceAsync needs an ExecutionStarted message.", nameof(executionStarted));
        }

        var existing = await _instances.ReadAsync(started.InstanceId, cancellationToken).ConfigureAwait(false);
        if (existing is not null && !InstanceTable.Status(existing).IsTerminal())
        {
            throw new OrchestrationAlreadyExistsException(started.InstanceId, InstanceTable.Status(existing));
        }

        await WriteNewInstanceAsync(started, existing, cancellationToken).ConfigureAwait(false);
        await SendAsync(executionStarted, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task SendMessageAsync(OrchestrationMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return SendAsync(message, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool fetchInputsAndOutputs, CancellationToken cancellationToken = default)
    {
        var row = await _instances.ReadAsync(instanceId, cancellationToken).ConfigureAwait(false);
        return row is null ? null : await _instances.ToMetadataAsync(row, fetchInputsAndOutputs, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var sentinel = await _history.ReadSentinelAsync(instanceId, cancellationToken).ConfigureAwait(false);
        return sentinel is null ? [] : await _history.ReadAsync(instanceId, sentinel, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<OrchestrationQueryResult> QueryInstancesAsync(OrchestrationQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var filters = new List<string> { "RowKey eq ''" };
        if (query.InstanceIdPrefix is { Length: > 0 } idPrefix)
        {
            filters.Add(TableClient.CreateQueryFilter($"PartitionKey ge {idPrefix} and PartitionKey lt {idPrefix + '\uffff'}"));
        }

        if (query.NamePrefix is { Length: > 0 } namePrefix)
        {
            var lower = namePrefix.ToLowerInvariant();
            filters.Add(TableClient.CreateQueryFilter($"NameLower ge {lower} and NameLower lt {lower + '\uffff'}"));
        }

        if (query.CreatedFrom is { } from)
        {
            filters.Add(TableClient.CreateQueryFilter($"CreatedTime ge {from}"));
        }

        if (query.CreatedTo is { } to)
        {
            filters.Add(TableClient.CreateQueryFilter($"CreatedTime le {to}"));
        }

        if (query.Statuses is { Count: > 0 } statuses)
        {
            filters.Add("(" + string.Join(" or ", statuses.Select(s => TableClient.CreateQueryFilter($"RuntimeStatus eq {s.ToString()}"))) + ")");
        }

        var pages = _clients.Instances.QueryAsync<TableEntity>(string.Join(" and ", filters), query.PageSize, cancellationToken: cancellationToken)
            .AsPages(query.ContinuationToken is { } token ? ContinuationTokens.Decode(token) : null, query.PageSize);
        await foreach (var page in pages.ConfigureAwait(false))
        {
            var instances = new List<OrchestrationMetadata>(page.Values.Count);
            foreach (var row in page.Values)
            {
                instances.Add(await _instances.ToMetadataAsync(row, query.FetchInputsAndOutputs, cancellationToken).ConfigureAwait(false));
            }

            return new OrchestrationQueryResult(instances, page.ContinuationToken is { Length: > 0 } next ? ContinuationTokens.Encode(next) : null);
        }

        return new OrchestrationQueryResult([], null);
    }

    /// <inheritdoc/>
    public async Task<bool> PurgeInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var row = await _instances.ReadAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (row is null || !InstanceTable.Status(row).IsTerminal())
        {
            return false;
        }

        await _history.DeleteAsync(instanceId, includeSentinel: true, cancellationToken).ConfigureAwait(false);
        await _payloads.DeleteInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false);
        await _instances.DeleteAsync(row, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public async Task<int> PurgeInstancesAsync(PurgeInstancesFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var statuses = filter.Statuses is { Count: > 0 } s ? s : [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated, OrchestrationRuntimeStatus.Canceled];
        var purged = 0;
        string? token = null;
        do
        {
            var page = await QueryInstancesAsync(new OrchestrationQuery { CreatedFrom = filter.CreatedFrom, CreatedTo = filter.CreatedTo, Statuses = statuses, PageSize = OrchestrationQuery.MaxPageSize, ContinuationToken = token }, cancellationToken).ConfigureAwait(false);
            foreach (var instance in page.Instances)
            {
                if (await PurgeInstanceAsync(instance.InstanceId, cancellationToken).ConfigureAwait(false))
                {
                    purged++;
                }
            }

            token = page.ContinuationToken;
        }
        while (token is not null);

        return purged;
    }

    /// <inheritdoc/>
    public async Task<OrchestrationMetadata> WaitForInstanceAsync(
        string instanceId,
        Func<OrchestrationMetadata, bool> condition,
        bool fetchInputsAndOutputs,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var delay = MinPollingInterval;
        while (true)
        {
            if (await GetInstanceAsync(instanceId, fetchInputsAndOutputs, cancellationToken).ConfigureAwait(false) is { } metadata && condition(metadata))
            {
                return metadata;
            }

            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }

    // ---- orchestration work items -----------------------------------------------------------------------

    /// <inheritdoc/>
    public async Task<OrchestrationWorkItem> LockNextOrchestrationWorkItemAsync(CancellationToken cancellationToken)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Task changed;
            lock (_gate)
            {
                changed = _orchestrationWork.Task;
            }

            var item = await TryLockBufferedInstanceAsync(cancellationToken).ConfigureAwait(false);
            if (item is not null)
            {
                return item;
            }

            // Buffers change when the poller receives messages or an in-process activity finishes; an instance
            // backing off after abandoned work items becomes eligible again by the clock.
            var retryAt = NextBackOffEnd();
            if (retryAt is { } at)
            {
                await Task.WhenAny(changed, Task.Delay(Max(at - Now(), MinPollingInterval), _time, cancellationToken)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
            else
            {
                await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<HistoryEvent>> LoadHistoryAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var state = (InstanceLock)workItem.LockState;
        return state.Sentinel is null ? [] : await _history.ReadAsync(workItem.InstanceId, state.Sentinel, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<string> CompleteOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(commit);
        var instanceId = workItem.InstanceId;
        var state = (InstanceLock)workItem.LockState;
        await RequireLockOrReleaseAsync(instanceId, state).ConfigureAwait(false);
        var plan = PlanActivities(instanceId, state, commit);

        // 1. Outgoing messages first: a crash after this point re-runs the episode, and the duplicates it sends
        //    are dropped by their receivers (activities are at-least-once; results and starts are de-duplicated).
        //    The recovery marker exists before the commit point whenever committed history will hold activity
        //    calls that only this worker knows it is running.
        foreach (var message in commit.OrchestrationMessages)
        {
            if (message.Event is ExecutionStarted { ParentInstance: not null } child && !await CreateChildIfAbsentAsync(child, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            await SendAsync(message, cancellationToken).ConfigureAwait(false);
        }

        Faults?.Reached(CommitStep.MessagesSent, instanceId);
        foreach (var activity in plan.ToSpill)
        {
            await SendActivityAsync(activity, cancellationToken).ConfigureAwait(false);
        }

        Faults?.Reached(CommitStep.ActivitiesSpilled, instanceId);
        var marker = plan.Local.Count > 0 ? await EnsureMarkerAsync(instanceId, plan, cancellationToken).ConfigureAwait(false) : plan.Marker;
        Faults?.Reached(CommitStep.MarkerWritten, instanceId);

        // 2. History, guarded by the sentinel's ETag: the sentinel update is the commit point.
        var sentinel = state.Sentinel;
        if (commit.ReplaceHistory || commit.NewEvents.Count > 0 || commit.State is not null)
        {
            try
            {
                // Only queue messages can be redelivered; in-process results have no envelope to remember.
                var processed = state.Messages.Where(m => m.EnvelopeId is not null).Select(m => m.EnvelopeId!);
                sentinel = await _history.AppendAsync(instanceId, state.Sentinel, commit, processed, cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    RememberBounded(_sentinels, instanceId, sentinel);
                }
            }
            catch (WorkItemLockLostException)
            {
                // Another worker wrote this instance: forget what this one believed about it (its marker is left
                // to expire, so whoever owns the instance now recovers its activities), and give the messages back.
                Forget(instanceId);
                await ReleaseLostLockAsync(instanceId, state).ConfigureAwait(false);
                throw;
            }
        }

        // 2b. In-process activities start only now that their TaskScheduled events are committed.
        StartLocalActivities(instanceId, commit.ExecutionId, plan, marker);
        var etag = sentinel?.ETag.ToString() ?? string.Empty;
        try
        {
            Faults?.Reached(CommitStep.HistoryCommitted, instanceId);

            // 3. Instance state, when the commit changed it.
            var version = HistoryStore.StateVersionOf(sentinel);
            if (commit.State is { } update && version != HistoryStore.StateVersionOf(state.Sentinel))
            {
                await _instances.WriteStateAsync(instanceId, commit.ExecutionId, update, version, cancellationToken).ConfigureAwait(false);
            }

            Faults?.Reached(CommitStep.InstanceRowWritten, instanceId);

            // 4. Only now are the processed messages removed from their queues.
            foreach (var received in state.Messages)
            {
                await DeleteQuietlyAsync(received, cancellationToken).ConfigureAwait(false);
            }

            Faults?.Reached(CommitStep.MessagesDeleted, instanceId);

            // 5. No activity of this instance runs here any more: the marker has done its job.
            if (plan.Local.Count == 0 && marker is { } done)
            {
                await _held.DeleteAsync(done, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception)
        {
            // The episode is committed, so it must not run again: what did not happen after the commit point is
            // finished by the next lock of the instance (see UnlockAfterFailedCleanup).
            TaskHubLog.CleanupAfterCommitFailed(_logger, instanceId, exception.GetType().Name, exception.Message);
            UnlockAfterFailedCleanup(instanceId, state, plan.Local.Count == 0 ? marker : null);
            return etag;
        }

        Unlock(instanceId, state, requeue: null);
        return etag;
    }

    /// <inheritdoc/>
    public async Task AbandonOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var state = (InstanceLock)workItem.LockState;
        await RequireLockOrReleaseAsync(workItem.InstanceId, state).ConfigureAwait(false);
        Unlock(workItem.InstanceId, state, requeue: state.Messages);
    }

    // ---- activity work items ----------------------------------------------------------------------------

    /// <inheritdoc/>
    public async Task<ActivityWorkItem> LockNextActivityWorkItemAsync(CancellationToken cancellationToken)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Task changed;
            ReceivedActivity? ready;
            lock (_gate)
            {
                _activities.TryDequeue(out ready);
                changed = _activityWork.Task;
            }

            if (ready is null)
            {
                await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (ready.Held is null && ready.DequeueCount > _maxDequeueCount)
            {
                await PoisonLocalActivityAsync(ready, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                return ready.ToWorkItem();
            }
        }
    }

    /// <summary>Receives a batch of activity requests into the local queue; returns how many arrived.</summary>
    private async Task<int> ReceiveActivitiesAsync(CancellationToken cancellationToken)
    {
        var received = await _clients.WorkItems.ReceiveMessagesAsync(32, _held.Visibility, cancellationToken).ConfigureAwait(false);
        foreach (var message in received.Value)
        {
            QueueEnvelope envelope;
            TaskScheduled scheduled;
            try
            {
                envelope = QueueEnvelope.FromJson(message.Body.ToString());
                scheduled = (TaskScheduled)await ReadEventAsync(envelope.Event, envelope.EventBlob, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is JsonException or InvalidCastException or RequestFailedException or NotSupportedException or ArgumentException)
            {
                await PoisonAsync(_clients.WorkItems, message, $"unreadable activity message: {exception.Message}", cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (message.DequeueCount > _maxDequeueCount)
            {
                // Handed out again and again without completing (its worker died each time): fail the call.
                var reason = ActivityPoisonReason(scheduled.Name, (int)message.DequeueCount - 1);
                await SendAsync(new OrchestrationMessage(envelope.InstanceId, envelope.ExecutionId, new TaskFailed(Now(), scheduled.EventId, PoisonFailure(reason))), cancellationToken).ConfigureAwait(false);
                await PoisonAsync(_clients.WorkItems, message, reason, cancellationToken).ConfigureAwait(false);
                continue;
            }

            lock (_gate)
            {
                _activities.Enqueue(new ReceivedActivity(new ActivityMessage(envelope.InstanceId, envelope.ExecutionId!, scheduled), _held.Hold(_clients.WorkItems, message.MessageId, message.PopReceipt), (int)message.DequeueCount));
            }
        }

        if (received.Value.Length > 0)
        {
            SignalActivityWork();
        }

        return received.Value.Length;
    }

    /// <inheritdoc/>
    public async Task RenewActivityWorkItemLockAsync(ActivityWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        if (workItem.LockState is LocalActivityLock local)
        {
            // In-process activities are kept recoverable by the instance's marker, renewed for all of them at once.
            RequireOwnership(local.Message.InstanceId);
            return;
        }

        // The message is renewed with every other held message; this only checks that it still is.
        if (((ActivityLock)workItem.LockState).Held.Gone)
        {
            throw new WorkItemLockLostException("The activity's queue message was taken by another worker or expired.");
        }
    }

    /// <inheritdoc/>
    public async Task CompleteActivityWorkItemAsync(ActivityWorkItem workItem, OrchestrationMessage result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(result);
        if (workItem.LockState is LocalActivityLock local)
        {
            DeliverLocalResult(local, result);
            return;
        }

        var state = (ActivityLock)workItem.LockState;

        // The result is sent before the request is deleted: a crash in between re-runs the activity, never loses it.
        await SendAsync(result, cancellationToken).ConfigureAwait(false);
        if (!await _held.DeleteAsync(state.Held, cancellationToken).ConfigureAwait(false))
        {
            throw new WorkItemLockLostException("The activity's queue message was taken by another worker or expired; its result may arrive twice.");
        }
    }

    /// <inheritdoc/>
    public async Task AbandonActivityWorkItemAsync(ActivityWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        if (workItem.LockState is LocalActivityLock local)
        {
            lock (_gate)
            {
                if (!IsCurrentAttempt(local))
                {
                    throw new WorkItemLockLostException("The in-process activity was already released or is no longer needed.");
                }

                EnqueueLocal(local.Message, workItem.DequeueCount + 2);
            }

            SignalActivityWork();
            return;
        }

        if (!await _held.HandBackAsync(((ActivityLock)workItem.LockState).Held, cancellationToken).ConfigureAwait(false))
        {
            throw new WorkItemLockLostException("The activity's queue message was already released.");
        }
    }

    // ---- internals ---------------------------------------------------------------------------------------

    private static FailureDetails PoisonFailure(string reason) => new("Workflows.Durable.PoisonMessage", reason, IsNonRetriable: true);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private DateTime Now() => _time.GetUtcNow().UtcDateTime;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The task id an activity result answers, or null for any other event.</summary>
    private static int? ResultFor(HistoryEvent historyEvent) => historyEvent switch
    {
        TaskCompleted completed => completed.TaskScheduledId,
        TaskFailed failed => failed.TaskScheduledId,
        _ => null,
    };

    private void SignalOrchestrationWork() => Signal(ref _orchestrationWork);

    private void SignalActivityWork() => Signal(ref _activityWork);

    private void Signal(ref TaskCompletionSource signal)
    {
        TaskCompletionSource fired;
        lock (_gate)
        {
            fired = signal;
            signal = NewSignal();
        }

        fired.TrySetResult();
    }

    private async Task SendAsync(OrchestrationMessage message, CancellationToken cancellationToken)
    {
        var partition = _clients.Names.PartitionOf(message.InstanceId);
        var json = await ToEnvelopeJsonAsync(message.InstanceId, message.ExecutionId, message.Event, message.VisibleAt, cancellationToken).ConfigureAwait(false);
        var delay = message.VisibleAt is { } visibleAt ? visibleAt - Now() : TimeSpan.Zero;
        await _clients.ControlQueues[partition].SendMessageAsync(json, delay <= TimeSpan.Zero ? null : (delay > MaxQueueDelay ? MaxQueueDelay : delay), TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
        if (delay <= TimeSpan.Zero && Owns(partition))
        {
            _controlPoller.Wake();
        }
    }

    private async Task SendActivityAsync(ActivityMessage activity, CancellationToken cancellationToken)
    {
        var json = await ToEnvelopeJsonAsync(activity.InstanceId, activity.ExecutionId, activity.Event, null, cancellationToken).ConfigureAwait(false);
        await _clients.WorkItems.SendMessageAsync(json, null, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
        _activityPoller.Wake();
    }

    private async Task<string> ToEnvelopeJsonAsync(string instanceId, string? executionId, HistoryEvent historyEvent, DateTime? visibleAt, CancellationToken cancellationToken)
    {
        var eventJson = HistorySerializer.Serialize(historyEvent);
        var blob = LargePayloadStore.NeedsBlob(eventJson) ? await _payloads.StoreAsync(instanceId, eventJson, cancellationToken).ConfigureAwait(false) : null;
        return new QueueEnvelope(Guid.NewGuid().ToString("N"), instanceId, executionId, blob is null ? eventJson : null, blob, visibleAt).ToJson();
    }

    private async Task<HistoryEvent> ReadEventAsync(string? inline, string? blob, CancellationToken cancellationToken) =>
        HistorySerializer.DeserializeEvent(inline ?? await _payloads.LoadAsync(blob!, cancellationToken).ConfigureAwait(false));

    /// <summary>Receives a batch from every control queue into the per-instance buffers; returns how many arrived.</summary>
    private async Task<int> ReceiveControlMessagesAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var partition in OwnedPartitions)
        {
            var queue = _clients.ControlQueues[partition];
            QueueMessage[] batch = (await queue.ReceiveMessagesAsync(32, _held.Visibility, cancellationToken).ConfigureAwait(false)).Value;
            foreach (var message in batch)
            {
                QueueEnvelope envelope;
                HistoryEvent historyEvent;
                try
                {
                    envelope = QueueEnvelope.FromJson(message.Body.ToString());
                    if (envelope.Kind == QueueEnvelope.RecoveryMarker)
                    {
                        // The owner of this instance's in-process activities stopped renewing it: recover them.
                        var marker = new ReceivedMarker(_held.Hold(queue, message.MessageId, message.PopReceipt), (int)message.DequeueCount, envelope.Spilled ?? []);
                        lock (_gate)
                        {
                            BufferOf(envelope.InstanceId).AddMarker(marker);
                        }

                        total++;
                        continue;
                    }

                    historyEvent = await ReadEventAsync(envelope.Event, envelope.EventBlob, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is JsonException or RequestFailedException or NotSupportedException or ArgumentException)
                {
                    await PoisonAsync(queue, message, $"unreadable control message: {exception.Message}", cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (envelope.VisibleAt is { } visibleAt && visibleAt > Now().AddSeconds(1))
                {
                    // A timer further out than the queue's delay limit: send it on again for the remaining time.
                    await SendAsync(new OrchestrationMessage(envelope.InstanceId, envelope.ExecutionId, historyEvent, visibleAt), cancellationToken).ConfigureAwait(false);
                    await DeleteQuietlyAsync(queue, message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var received = new ReceivedMessage(
                    _held.Hold(queue, message.MessageId, message.PopReceipt),
                    (int)message.DequeueCount,
                    envelope.Id,
                    new OrchestrationMessage(envelope.InstanceId, envelope.ExecutionId, historyEvent));
                lock (_gate)
                {
                    BufferOf(envelope.InstanceId).Add(received);
                }

                total++;
            }
        }

        if (total > 0)
        {
            SignalOrchestrationWork();
        }

        return total;
    }

    private InstanceBuffer BufferOf(string instanceId)
    {
        if (!_buffers.TryGetValue(instanceId, out var buffer))
        {
            buffer = new InstanceBuffer();
            _buffers[instanceId] = buffer;
        }

        return buffer;
    }

    /// <summary>Locks an unlocked instance that has buffered messages and may run; null when there is none.</summary>
    private async Task<OrchestrationWorkItem?> TryLockBufferedInstanceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            string? instanceId = null;
            InstanceBuffer? buffer = null;
            long token = 0;
            TableEntity? cached = null;
            lock (_gate)
            {
                foreach (var (id, candidate) in _buffers)
                {
                    if (!candidate.Locked && candidate.HasWork && !candidate.Parked && candidate.NotBefore <= Now() && Owns(id))
                    {
                        candidate.Locked = true;
                        candidate.Token = ++_nextToken;
                        (instanceId, buffer, token) = (id, candidate, candidate.Token);
                        _sentinels.TryGetValue(id, out cached);
                        break;
                    }
                }
            }

            if (instanceId is null || buffer is null)
            {
                await DropOrphansAsync(cancellationToken).ConfigureAwait(false);
                return null;
            }

            try
            {
                var item = await TryBuildWorkItemAsync(instanceId, buffer, token, cached, cancellationToken).ConfigureAwait(false);
                if (item is not null)
                {
                    return item;
                }
            }
            catch
            {
                lock (_gate)
                {
                    buffer.Locked = false;
                }

                throw;
            }
        }
    }

    /// <summary>Turns a locked buffer into a work item; null when nothing is left to deliver (the buffer is unlocked then).</summary>
    private async Task<OrchestrationWorkItem?> TryBuildWorkItemAsync(string instanceId, InstanceBuffer buffer, long token, TableEntity? cached, CancellationToken cancellationToken)
    {
        bool hasStart;
        bool poisoned;
        bool checkRow;
        lock (_gate)
        {
            hasStart = buffer.Pending.Exists(m => m.Message.Event is ExecutionStarted);

            // Abandoned here too often, or received too often by any worker (a message that kills the process that
            // runs it is received again by each process it kills: the queue's count survives restarts).
            poisoned = buffer.Abandons >= _maxDequeueCount || buffer.Pending.Exists(m => m.Held is not null && m.DequeueCount > _maxDequeueCount);
            checkRow = buffer.CheckRow;
            buffer.CheckRow = false;
        }

        if (poisoned)
        {
            await PoisonInstanceAsync(instanceId, buffer, cancellationToken).ConfigureAwait(false);
            return null;
        }

        // What this lock takes out of the buffer goes back into it when a storage call below fails (storage is
        // away): the messages, in-process results among them, are delivered by a later lock instead of being lost.
        List<ReceivedMessage> taken = [];
        List<ReceivedMarker> markers = [];
        List<ReceivedMessage> messages;
        TableEntity? sentinel;
        try
        {
            // The sentinel this worker committed last is still current while it owns the partition (a commit by
            // anyone else would fail its ETag check, and that failure drops the cache); a start message always reads it.
            var fresh = cached is null || hasStart || checkRow;
            sentinel = fresh ? await _history.ReadSentinelAsync(instanceId, cancellationToken).ConfigureAwait(false) : cached;
            lock (_gate)
            {
                markers = buffer.Markers;
                buffer.Markers = [];
                if (sentinel is null && !hasStart)
                {
                    // No history and no start yet: wait for the ExecutionStarted (or drop if the instance does not
                    // exist). A marker of an instance without history has nothing to recover.
                    buffer.Parked = buffer.Pending.Count > 0;
                    UnlockBuffer(instanceId, buffer);

                    messages = [];
                }
                else
                {
                    taken = TakeBatch(buffer);
                    messages = [.. taken];
                }
            }

            if (sentinel is null && !hasStart)
            {
                foreach (var marker in markers)
                {
                    await _held.DeleteAsync(marker.Held, cancellationToken).ConfigureAwait(false);
                }

                return null;
            }

            if (markers.Count > 0)
            {
                messages.AddRange(await RecoverActivitiesAsync(instanceId, sentinel, markers, messages, cancellationToken).ConfigureAwait(false));
            }

            // Messages whose events a previous commit already recorded (it crashed before deleting them) are dropped.
            var processed = HistoryStore.ProcessedIds(sentinel).ToHashSet(StringComparer.Ordinal);
            var duplicates = messages.Where(m => m.EnvelopeId is not null && processed.Contains(m.EnvelopeId)).ToList();
            foreach (var duplicate in duplicates)
            {
                await DeleteQuietlyAsync(duplicate, cancellationToken).ConfigureAwait(false);
            }

            if (duplicates.Count > 0)
            {
                messages = messages.Except(duplicates).ToList();
            }

            // Whenever this worker cannot know that the instance row shows the last committed state (it has not seen the
            // instance since it started, or a commit died or failed after its commit point), the row is compared with
            // the state the sentinel recorded, and written from it when it is behind.
            if (sentinel is not null && (fresh || duplicates.Count > 0))
            {
                await RepairInstanceRowAsync(instanceId, sentinel, cancellationToken).ConfigureAwait(false);
            }

            if (messages.Count == 0)
            {
                lock (_gate)
                {
                    UnlockBuffer(instanceId, buffer);
                }

                return null;
            }
        }
        catch (Exception exception)
        {
            lock (_gate)
            {
                buffer.Pending = [.. taken, .. buffer.Pending];
                buffer.Markers = [.. markers, .. buffer.Markers];
                buffer.CheckRow |= checkRow;
            }

            TaskHubLog.LockFailed(_logger, instanceId, exception.GetType().Name, exception.Message);
            throw;
        }

        return new OrchestrationWorkItem
        {
            InstanceId = instanceId,
            Messages = messages.Select(m => m.Message).ToArray(),
            HistoryETag = sentinel?.ETag.ToString() ?? string.Empty,
            DequeueCount = buffer.Abandons,
            LockState = new InstanceLock(token, sentinel, messages),
        };
    }

    /// <summary>
    /// Takes the next work item's messages out of a buffer (caller holds the lock): start messages first, and at most
    /// half of <see cref="HistoryStore.RememberedMessageIds"/> queue messages, so that the sentinel remembers every one
    /// of them until at least one more full commit (a copy received again late is still recognised); the rest wait for
    /// the next episode.
    /// </summary>
    private List<ReceivedMessage> TakeBatch(InstanceBuffer buffer)
    {
        var ordered = buffer.Pending.Where(m => m.Message.Event is ExecutionStarted).Concat(buffer.Pending.Where(m => m.Message.Event is not ExecutionStarted));
        var batch = new List<ReceivedMessage>(buffer.Pending.Count);
        var rest = new List<ReceivedMessage>();
        var queued = 0;
        foreach (var message in ordered)
        {
            if (message.EnvelopeId is not null && ++queued > _history.RememberedMessageIds / 2)
            {
                rest.Add(message);
            }
            else
            {
                batch.Add(message);
            }
        }

        buffer.Pending = rest;
        return batch;
    }

    /// <summary>When the earliest instance that is backing off after abandoned work items may run again.</summary>
    private DateTime? NextBackOffEnd()
    {
        DateTime? earliest = null;
        lock (_gate)
        {
            foreach (var buffer in _buffers.Values)
            {
                if (!buffer.Locked && buffer.HasWork && buffer.NotBefore > Now() && (earliest is null || buffer.NotBefore < earliest))
                {
                    earliest = buffer.NotBefore;
                }
            }
        }

        return earliest;
    }

    /// <summary>Parked buffers wait for their ExecutionStarted; those whose instance does not exist are dropped.</summary>
    private async Task DropOrphansAsync(CancellationToken cancellationToken)
    {
        List<(string InstanceId, InstanceBuffer Buffer)> parked;
        lock (_gate)
        {
            parked = _buffers.Where(b => b.Value.Parked && !b.Value.Locked).Select(b => (b.Key, b.Value)).ToList();
            foreach (var (_, buffer) in parked)
            {
                buffer.Parked = false;
            }
        }

        foreach (var (instanceId, buffer) in parked)
        {
            if (await _instances.ReadAsync(instanceId, cancellationToken).ConfigureAwait(false) is not null)
            {
                continue;
            }

            List<ReceivedMessage> orphans;
            lock (_gate)
            {
                orphans = buffer.Pending;
                buffer.Pending = [];
            }

            foreach (var orphan in orphans)
            {
                await DeleteQuietlyAsync(orphan, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>As <see cref="RequireLock"/>, releasing the lock when it fails because the partition moved on.</summary>
    private async Task RequireLockOrReleaseAsync(string instanceId, InstanceLock state)
    {
        try
        {
            RequireLock(instanceId, state);
        }
        catch (WorkItemLockLostException)
        {
            await ReleaseLostLockAsync(instanceId, state).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// A work item whose lock was lost (another worker committed for the instance, or this worker no longer owns its
    /// partition) must not keep the instance locked: while the partition is still this worker's, its messages go back
    /// into the instance's buffer for an episode on the current history; otherwise they are handed back at once to
    /// the partition's new owner, with whatever else waited for the instance here.
    /// </summary>
    private async Task ReleaseLostLockAsync(string instanceId, InstanceLock state)
    {
        List<HeldMessage> handBack = [];
        var wake = false;
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || buffer.Token != state.Token || !buffer.Locked)
            {
                return;
            }

            if (Owns(instanceId))
            {
                buffer.Pending = [.. state.Messages, .. buffer.Pending];
                buffer.Locked = false;
                wake = true;
            }
            else
            {
                handBack.AddRange(state.Messages.Concat(buffer.Pending).Where(m => m.Held is not null).Select(m => m.Held!));
                handBack.AddRange(buffer.Markers.Select(m => m.Held));
                _buffers.Remove(instanceId);
            }
        }

        if (wake)
        {
            SignalOrchestrationWork();
        }

        await _held.HandBackAllAsync(handBack, CancellationToken.None).ConfigureAwait(false);
    }

    private void RequireLock(string instanceId, InstanceLock state)
    {
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || !buffer.Locked || buffer.Token != state.Token)
            {
                throw new WorkItemLockLostException($"The lock on instance '{instanceId}' was lost; nothing was committed.");
            }
        }

        RequireOwnership(instanceId);
    }

    private void RequireOwnership(string instanceId)
    {
        if (!Owns(instanceId))
        {
            throw new WorkItemLockLostException($"This worker no longer owns the partition of instance '{instanceId}'; nothing was committed.");
        }
    }

    /// <summary>Unlocks a buffer and drops it when nothing waits in it (caller holds the lock).</summary>
    private void UnlockBuffer(string instanceId, InstanceBuffer buffer)
    {
        buffer.Locked = false;
        if (!buffer.HasWork && !buffer.Parked)
        {
            _buffers.Remove(instanceId);
        }
    }

    private void Unlock(string instanceId, InstanceLock state, List<ReceivedMessage>? requeue)
    {
        var wake = false;
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || buffer.Token != state.Token)
            {
                return;
            }

            if (requeue is not null)
            {
                requeue.AddRange(buffer.Pending);
                buffer.Pending = requeue;
                buffer.Abandons++;

                // Back off before the next attempt: 1, 2, 4 ... seconds, at most a minute.
                buffer.NotBefore = Now().AddSeconds(Math.Min(60, Math.Pow(2, buffer.Abandons - 1)));
            }
            else
            {
                buffer.Abandons = 0;
            }

            buffer.Locked = false;
            if (!buffer.HasWork)
            {
                _buffers.Remove(instanceId);
            }
            else
            {
                // Messages arrived while it was locked: wake the dispatchers instead of waiting for the next change.
                wake = true;
            }
        }

        if (wake)
        {
            SignalOrchestrationWork();
        }
    }

    /// <summary>
    /// Unlocks an instance whose commit failed after its commit point. Its queue messages go back into its buffer (the
    /// next lock finds them recorded in the sentinel and deletes them), its in-process results are dropped (the
    /// commit recorded them), and the next lock compares the instance row with the sentinel and repairs it. A marker
    /// that has done its job is no longer renewed: when it shows again, nothing of the instance is outstanding and it
    /// is deleted.
    /// </summary>
    private void UnlockAfterFailedCleanup(string instanceId, InstanceLock state, HeldMessage? doneMarker)
    {
        if (doneMarker is not null)
        {
            _held.StopRenewing(doneMarker);
        }

        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || buffer.Token != state.Token)
            {
                return;
            }

            buffer.Pending = [.. state.Messages.Where(m => m.Held is { Gone: false }), .. buffer.Pending];
            buffer.CheckRow = true;
            buffer.Locked = false;
        }

        SignalOrchestrationWork();
    }

    /// <summary>Moves a message to the poison queue (with the reason) and deletes it from its queue.</summary>
    private async Task PoisonAsync(QueueClient source, QueueMessage message, string reason, CancellationToken cancellationToken)
    {
        var record = JsonSerializer.Serialize(new { queue = source.Name, reason, body = message.Body.ToString(), dequeueCount = message.DequeueCount });
        await _clients.Poison.SendMessageAsync(record, null, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
        await DeleteQuietlyAsync(source, message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// An instance whose messages keep failing (its work items are abandoned, or a message is received again and again
    /// because processes die running it): its messages go to the poison queue, and the instance fails durably: an
    /// <see cref="ExecutionCompleted"/> (Failed, with the reason) is committed to its history, so messages that come
    /// later are dropped instead of running it again, and its row says Failed with the reason.
    /// </summary>
    private async Task PoisonInstanceAsync(string instanceId, InstanceBuffer buffer, CancellationToken cancellationToken)
    {
        List<ReceivedMessage> messages;
        lock (_gate)
        {
            messages = TakeBatch(buffer);
        }

        var attempts = Math.Max(buffer.Abandons, messages.Count == 0 ? 0 : messages.Max(m => m.DequeueCount));
        var reason = $"Instance '{instanceId}' could not be processed after {attempts} attempts (poison messages moved to '{_clients.Names.PoisonQueue}').";
        TaskHubLog.PoisonedInstance(_logger, instanceId, attempts, _clients.Names.PoisonQueue);
        foreach (var received in messages)
        {
            var record = JsonSerializer.Serialize(new { queue = received.Held?.Queue.Name ?? "in-process", reason, @event = HistorySerializer.Serialize(received.Message.Event) });
            await _clients.Poison.SendMessageAsync(record, null, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
        }

        await CommitPoisonAsync(instanceId, messages, PoisonFailure(reason), cancellationToken).ConfigureAwait(false);
        foreach (var received in messages)
        {
            await DeleteQuietlyAsync(received, cancellationToken).ConfigureAwait(false);
        }

        Forget(instanceId);
        lock (_gate)
        {
            buffer.Abandons = 0;
            UnlockBuffer(instanceId, buffer);
        }
    }

    /// <summary>Commits the failure of a poisoned instance to its history and row (nothing when it has already finished).</summary>
    private async Task CommitPoisonAsync(string instanceId, List<ReceivedMessage> messages, FailureDetails failure, CancellationToken cancellationToken)
    {
        var now = Now();
        var sentinel = await _history.ReadSentinelAsync(instanceId, cancellationToken).ConfigureAwait(false);
        List<HistoryEvent> events = [new OrchestratorStarted(now)];
        InstanceStateUpdate? state;
        string executionId;
        if (sentinel is null || (sentinel.GetInt32("Count") ?? 0) == 0)
        {
            // No event of the current execution is committed: the poisoned messages hold its start, if anything.
            if (messages.Select(m => m.Message.Event).OfType<ExecutionStarted>().FirstOrDefault() is not { } start)
            {
                return;
            }

            events.Add(start);
            executionId = start.ExecutionId;
            state = new InstanceStateUpdate(start.Name, OrchestrationRuntimeStatus.Running, start.Input, null, null, null, start.ParentInstance?.InstanceId);
        }
        else
        {
            state = await _history.ReadStateAsync(sentinel, cancellationToken).ConfigureAwait(false);
            executionId = sentinel.GetString("ExecutionId") ?? string.Empty;
            if (state is null || state.Status.IsTerminal())
            {
                return;
            }
        }

        events.Add(new ExecutionCompleted(now, OrchestrationRuntimeStatus.Failed, null, failure));
        events.Add(new OrchestratorCompleted(now));
        var failed = state with { Status = OrchestrationRuntimeStatus.Failed, Output = null, FailureDetails = failure };
        var commit = new OrchestrationCommit { ExecutionId = executionId, NewEvents = events, State = failed };
        try
        {
            var processed = messages.Where(m => m.EnvelopeId is not null).Select(m => m.EnvelopeId!);
            var committed = await _history.AppendAsync(instanceId, sentinel, commit, processed, cancellationToken).ConfigureAwait(false);
            await _instances.WriteStateAsync(instanceId, executionId, failed, HistoryStore.StateVersionOf(committed), cancellationToken).ConfigureAwait(false);
        }
        catch (WorkItemLockLostException exception)
        {
            // Someone else committed for the instance meanwhile: it is theirs now, and so is the decision.
            TaskHubLog.PoisonCommitLost(_logger, instanceId, exception.Message);
        }
    }

    /// <summary>Writes the instance row from the state <paramref name="sentinel"/> recorded when the row is behind it.</summary>
    private async Task RepairInstanceRowAsync(string instanceId, TableEntity sentinel, CancellationToken cancellationToken)
    {
        var version = HistoryStore.StateVersionOf(sentinel);
        if (version.Length == 0)
        {
            return;
        }

        var row = await _instances.ReadAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (row is not null && string.CompareOrdinal(InstanceTable.StateVersionOf(row), version) >= 0)
        {
            return;
        }

        if (await _history.ReadStateAsync(sentinel, cancellationToken).ConfigureAwait(false) is { } state)
        {
            TaskHubLog.RepairedInstanceRow(_logger, instanceId, row is null ? "none" : InstanceTable.StateVersionOf(row), version);
            await _instances.WriteStateAsync(instanceId, sentinel.GetString("ExecutionId") ?? string.Empty, state, version, cancellationToken).ConfigureAwait(false);
        }
    }

    private bool Owns(string instanceId) => Owns(_clients.Names.PartitionOf(instanceId));

    private QueueClient ControlQueueOf(string instanceId) => _clients.ControlQueues[_clients.Names.PartitionOf(instanceId)];

    private bool Owns(int partition) => _leases?.Owns(partition) ?? true;

    /// <summary>Takes partition leases, starts the receive loops and the held-message renewal, once (tests call it directly).</summary>
    internal async Task EnsureStartedAsync(CancellationToken cancellationToken)
    {
        if (_started)
        {
            return;
        }

        await _startGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_started)
            {
                if (_leases is not null)
                {
                    await _leases.StartAsync(cancellationToken).ConfigureAwait(false);
                }

                _controlPoller.Start();
                _activityPoller.Start();
                _held.Start();
                _started = true;
            }
        }
        finally
        {
            _startGate.Release();
        }
    }

    /// <summary>A partition may be handed to another worker only while none of its instances is mid-episode.</summary>
    private bool CanReleasePartition(int partition)
    {
        lock (_gate)
        {
            return !_buffers.Any(b => b.Value.Locked && _clients.Names.PartitionOf(b.Key) == partition);
        }
    }

    /// <summary>
    /// A released or lost partition: its buffered messages and recovery markers are made visible at once for the
    /// new owner, which re-runs the in-process activities whose results this worker had not committed; whatever
    /// this worker still runs for that partition is refused when it finishes.
    /// </summary>
    private async Task ReleasePartitionAsync(int partition, CancellationToken cancellationToken)
    {
        List<HeldMessage> handBack = [];
        lock (_gate)
        {
            bool InPartition(string instanceId) => _clients.Names.PartitionOf(instanceId) == partition;
            foreach (var (instanceId, buffer) in _buffers.Where(b => !b.Value.Locked && InPartition(b.Key)).ToList())
            {
                handBack.AddRange(buffer.Pending.Where(m => m.Held is not null).Select(m => m.Held!));
                handBack.AddRange(buffer.Markers.Select(m => m.Held));
                _buffers.Remove(instanceId);
            }

            foreach (var inFlight in _inFlight.Where(e => InPartition(e.Key)).Select(e => e.Value))
            {
                if (inFlight.Marker is { } marker)
                {
                    handBack.Add(marker);
                }
            }

            var keep = _activities.Where(a => a.Held is not null || !InPartition(a.Message.InstanceId)).ToList();
            _activities.Clear();
            keep.ForEach(_activities.Enqueue);
            foreach (var instanceId in _inFlight.Keys.Concat(_sentinels.Keys).Where(InPartition).Distinct().ToList())
            {
                ForgetLocked(instanceId);
            }
        }

        await _held.HandBackAllAsync(handBack, cancellationToken).ConfigureAwait(false);
    }

    private Task DeleteQuietlyAsync(ReceivedMessage message, CancellationToken cancellationToken) =>
        message.Held is null ? Task.CompletedTask : _held.DeleteAsync(message.Held, cancellationToken);

    private static async Task DeleteQuietlyAsync(QueueClient queue, string messageId, string popReceipt, CancellationToken cancellationToken)
    {
        try
        {
            await queue.DeleteMessageAsync(messageId, popReceipt, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException exception) when (exception.Status is 404 or 400)
        {
            // Already deleted, or re-received under a new pop receipt: the redelivery is de-duplicated downstream.
        }
    }

    // ---- in-process activities ---------------------------------------------------------------------------

    /// <summary>
    /// Decides, for one commit, which new activities run in this process and which are spilled to the shared
    /// work-item queue (only while other workers are alive and the local backlog is long), and which activities of
    /// the instance will still be outstanding after the commit.
    /// </summary>
    private ActivityPlan PlanActivities(string instanceId, InstanceLock state, OrchestrationCommit commit)
    {
        lock (_gate)
        {
            _inFlight.TryGetValue(instanceId, out var entry);
            var sameExecution = entry is not null && entry.ExecutionId == commit.ExecutionId && !commit.ReplaceHistory;
            var local = sameExecution ? new HashSet<int>(entry!.Local) : [];
            var spilled = sameExecution ? new HashSet<int>(entry!.Spilled) : [];
            foreach (var received in state.Messages)
            {
                if (received.Message.ExecutionId is { } target && target != commit.ExecutionId)
                {
                    continue;
                }

                if (ResultFor(received.Message.Event) is { } done)
                {
                    local.Remove(done);
                    spilled.Remove(done);
                }
            }

            if (commit.State?.Status.IsTerminal() == true)
            {
                local.Clear();
                spilled.Clear();
            }

            var othersAlive = _leases is { LiveWorkers: > 1 };
            var backlog = _activities.Count;
            List<ActivityMessage> runHere = [];
            List<ActivityMessage> toSpill = [];
            foreach (var activity in commit.ActivityMessages)
            {
                if (othersAlive && backlog >= _maxLocalActivityBacklog)
                {
                    toSpill.Add(activity);
                    spilled.Add(activity.Event.EventId);
                }
                else
                {
                    runHere.Add(activity);
                    local.Add(activity.Event.EventId);
                    backlog++;
                }
            }

            return new ActivityPlan(local, spilled, runHere, toSpill, entry?.Marker is { Gone: false } marker ? marker : null);
        }
    }

    /// <summary>Sends the instance's recovery marker if it has none, or records newly spilled task ids in it.</summary>
    private async Task<HeldMessage> EnsureMarkerAsync(string instanceId, ActivityPlan plan, CancellationToken cancellationToken)
    {
        var body = new QueueEnvelope(Guid.NewGuid().ToString("N"), instanceId, null, null, null, null, QueueEnvelope.RecoveryMarker, plan.Spilled.Order().ToArray()).ToJson();
        if (plan.Marker is { } existing && (plan.ToSpill.Count == 0 || await _held.UpdateAsync(existing, body, cancellationToken).ConfigureAwait(false)))
        {
            return existing;
        }

        // None yet, or it was received meanwhile (its renewal came late): a fresh one replaces it.
        return await _held.SendHeldAsync(ControlQueueOf(instanceId), body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>After the commit point: records what is outstanding and queues the activities that run here.</summary>
    private void StartLocalActivities(string instanceId, string executionId, ActivityPlan plan, HeldMessage? marker)
    {
        lock (_gate)
        {
            if (!Owns(instanceId) || (plan.Local.Count == 0 && plan.Spilled.Count == 0))
            {
                _inFlight.Remove(instanceId);
                return;
            }

            var entry = new InFlightActivities(executionId) { Marker = plan.Local.Count > 0 ? marker : null };
            entry.Local.UnionWith(plan.Local);
            entry.Spilled.UnionWith(plan.Spilled);
            if (_inFlight.TryGetValue(instanceId, out var previous) && previous.ExecutionId == executionId)
            {
                foreach (var (taskId, attempt) in previous.Attempts)
                {
                    if (entry.Local.Contains(taskId))
                    {
                        entry.Attempts[taskId] = attempt;
                    }
                }
            }

            _inFlight[instanceId] = entry;
            foreach (var activity in plan.RunHere)
            {
                EnqueueLocal(activity, 1);
            }
        }

        if (plan.RunHere.Count > 0)
        {
            SignalActivityWork();
        }
    }

    /// <summary>Queues an in-process activity under a new attempt number (caller holds the lock).</summary>
    private void EnqueueLocal(ActivityMessage activity, int dequeueCount)
    {
        var attempt = ++_nextToken;
        if (_inFlight.TryGetValue(activity.InstanceId, out var entry))
        {
            entry.Attempts[activity.Event.EventId] = attempt;
        }

        _activities.Enqueue(new ReceivedActivity(activity, null, dequeueCount, attempt));
    }

    /// <summary>An in-process activity finished: its result goes straight into the instance's buffer, no queue involved.</summary>
    private void DeliverLocalResult(LocalActivityLock local, OrchestrationMessage result)
    {
        var activity = local.Message;
        lock (_gate)
        {
            RequireOwnership(activity.InstanceId);
            if (!_inFlight.TryGetValue(activity.InstanceId, out var entry) || entry.ExecutionId != activity.ExecutionId || !entry.Local.Contains(activity.Event.EventId))
            {
                // The execution moved on (finished, continued as new, rewound): nobody waits for this result.
                return;
            }

            if (!IsCurrentAttempt(local))
            {
                throw new WorkItemLockLostException($"A newer attempt of activity '{activity.Event.Name}' ({activity.IdempotencyKey}) is queued or running; this result is dropped.");
            }

            entry.Attempts.Remove(activity.Event.EventId);
            BufferOf(activity.InstanceId).Add(new ReceivedMessage(null, 1, null, result));
        }

        SignalOrchestrationWork();
    }

    private bool IsCurrentAttempt(LocalActivityLock local) =>
        _inFlight.TryGetValue(local.Message.InstanceId, out var entry)
        && entry.ExecutionId == local.Message.ExecutionId
        && entry.Attempts.TryGetValue(local.Message.Event.EventId, out var attempt)
        && attempt == local.Attempt;

    /// <summary>An in-process activity handed out too often without finishing: its call fails with the reason.</summary>
    private async Task PoisonLocalActivityAsync(ReceivedActivity activity, CancellationToken cancellationToken)
    {
        var scheduled = activity.Message.Event;
        var reason = ActivityPoisonReason(scheduled.Name, activity.DequeueCount - 1);
        var record = JsonSerializer.Serialize(new { queue = "in-process", reason, key = activity.Message.IdempotencyKey, @event = HistorySerializer.Serialize(scheduled) });
        await _clients.Poison.SendMessageAsync(record, null, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
        var failed = new OrchestrationMessage(activity.Message.InstanceId, activity.Message.ExecutionId, new TaskFailed(Now(), scheduled.EventId, PoisonFailure(reason)));
        try
        {
            DeliverLocalResult(new LocalActivityLock(activity.Message, activity.Attempt), failed);
        }
        catch (WorkItemLockLostException)
        {
            // The partition moved on meanwhile: its new owner recovers the call.
        }
    }

    private string ActivityPoisonReason(string activityName, int attempts) =>
        $"Activity '{activityName}' was started {attempts} times without completing (poison message; limit {_maxDequeueCount}).";

    /// <summary>
    /// A recovery marker became visible: whoever ran the instance's in-process activities stopped renewing it
    /// (crashed, lost or gave up the partition). Every activity call in committed history without a committed
    /// result, that is neither running here nor spilled to the work-item queue, runs again here (activities are
    /// at-least-once). After too many such recoveries the calls fail instead, as a poison work item would.
    /// Returns failure results to deliver with this work item.
    /// </summary>
    private async Task<List<ReceivedMessage>> RecoverActivitiesAsync(string instanceId, TableEntity? sentinel, List<ReceivedMarker> markers, List<ReceivedMessage> arrived, CancellationToken cancellationToken)
    {
        var history = sentinel is null ? [] : await _history.ReadAsync(instanceId, sentinel, cancellationToken).ConfigureAwait(false);
        var executionId = sentinel?.GetString("ExecutionId") ?? string.Empty;
        var resolved = new HashSet<int>();
        foreach (var received in arrived)
        {
            if (ResultFor(received.Message.Event) is { } done)
            {
                resolved.Add(done);
            }
        }

        var spilled = markers.SelectMany(m => m.Spilled).ToHashSet();
        var poisoned = markers.Max(m => m.DequeueCount) > _maxDequeueCount;
        List<ReceivedMessage> failures = [];
        HeldMessage? adopted = null;
        List<ReceivedMarker> discard = [];
        var rerun = 0;
        lock (_gate)
        {
            if (!_inFlight.TryGetValue(instanceId, out var entry) || entry.ExecutionId != executionId)
            {
                entry = new InFlightActivities(executionId);
                _inFlight[instanceId] = entry;
            }

            foreach (var call in InFlightActivities.Outstanding(history))
            {
                if (resolved.Contains(call.EventId) || entry.Local.Contains(call.EventId))
                {
                    continue;
                }

                if (spilled.Contains(call.EventId))
                {
                    entry.Spilled.Add(call.EventId);
                    continue;
                }

                entry.Local.Add(call.EventId);
                if (poisoned)
                {
                    // Every recovery means the worker running these calls stopped: after too many, they fail.
                    var reason = ActivityPoisonReason(call.Name, _maxDequeueCount);
                    failures.Add(new ReceivedMessage(null, 1, null, new OrchestrationMessage(instanceId, executionId, new TaskFailed(Now(), call.EventId, PoisonFailure(reason)))));
                }
                else
                {
                    EnqueueLocal(new ActivityMessage(instanceId, executionId, call), 1);
                    rerun++;
                }
            }

            foreach (var marker in markers)
            {
                // This worker's own marker, received because a renewal came late, is adopted under its new receipt.
                var ours = entry.Marker is null || entry.Marker.Id == marker.Held.Id;
                if (entry.Local.Count > 0 && adopted is null && ours)
                {
                    adopted = marker.Held;
                    entry.Marker = marker.Held;
                }
                else
                {
                    discard.Add(marker);
                }
            }

            if (entry.IsEmpty && entry.Marker is null)
            {
                _inFlight.Remove(instanceId);
            }
        }

        if (rerun > 0)
        {
            SignalActivityWork();
        }

        foreach (var marker in discard)
        {
            await _held.DeleteAsync(marker.Held, cancellationToken).ConfigureAwait(false);
        }

        return failures;
    }

    /// <summary>Drops what this worker believed about an instance after another worker wrote it.</summary>
    private void Forget(string instanceId)
    {
        lock (_gate)
        {
            ForgetLocked(instanceId);
        }
    }

    private void ForgetLocked(string instanceId)
    {
        if (_inFlight.Remove(instanceId, out var entry) && entry.Marker is { } marker)
        {
            // Whoever owns the instance now recovers its activities when the marker shows again.
            _held.StopRenewing(marker);
        }

        _sentinels.Remove(instanceId);
        _instances.Forget(instanceId);
    }

    /// <summary>Caches per instance, bounded: past the bound the cache starts over (it only saves reads and writes).</summary>
    private static void RememberBounded<T>(Dictionary<string, T> cache, string instanceId, T value)
    {
        if (cache.Count >= MaxCachedInstances && !cache.ContainsKey(instanceId))
        {
            cache.Clear();
        }

        cache[instanceId] = value;
    }

    // ---- instance rows ------------------------------------------------------------------------------------

    private async Task WriteNewInstanceAsync(ExecutionStarted started, TableEntity? existing, CancellationToken cancellationToken)
    {
        if (existing is not null)
        {
            // Replacing a finished instance: its old history and payloads go first.
            await _history.DeleteAsync(started.InstanceId, includeSentinel: true, cancellationToken).ConfigureAwait(false);
            await _payloads.DeleteInstanceAsync(started.InstanceId, cancellationToken).ConfigureAwait(false);
        }

        await _instances.WriteNewAsync(started, existing, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates the row of a sub-orchestration before its start is sent. False when the start must not be sent: the
    /// same call of the same parent execution started the child before and it has finished (a parent episode that
    /// is retried sends its starts again; the child's outcome already went to the parent).
    /// </summary>
    private async Task<bool> CreateChildIfAbsentAsync(ExecutionStarted child, CancellationToken cancellationToken)
    {
        var existing = await _instances.ReadAsync(child.InstanceId, cancellationToken).ConfigureAwait(false);
        if (existing is null || InstanceTable.Status(existing).IsTerminal())
        {
            if (existing is not null && InstanceTable.StartedBySameCall(existing, child))
            {
                return false;
            }

            try
            {
                await WriteNewInstanceAsync(child, existing, cancellationToken).ConfigureAwait(false);
            }
            catch (OrchestrationAlreadyExistsException)
            {
                // Created meanwhile (a redelivered start): the running child rejects the duplicate start.
            }
        }

        return true;
    }

    /// <summary>A message for an instance: from a control queue, or (Queue null) an in-process activity result.</summary>
    private sealed record ReceivedMessage(HeldMessage? Held, int DequeueCount, string? EnvelopeId, OrchestrationMessage Message);

    /// <summary>A recovery marker received from a control queue.</summary>
    private sealed record ReceivedMarker(HeldMessage Held, int DequeueCount, IReadOnlyList<int> Spilled);

    /// <summary>
    /// One commit's activity decisions: outstanding in-process (<paramref name="Local"/>) and spilled task ids after
    /// the commit, the new calls that run here and the ones that go to the work-item queue, the current marker.
    /// </summary>
    private sealed record ActivityPlan(HashSet<int> Local, HashSet<int> Spilled, List<ActivityMessage> RunHere, List<ActivityMessage> ToSpill, HeldMessage? Marker);

    private sealed record InstanceLock(long Token, TableEntity? Sentinel, List<ReceivedMessage> Messages);

    private sealed class InstanceBuffer
    {
        public List<ReceivedMessage> Pending { get; set; } = [];

        public List<ReceivedMarker> Markers { get; set; } = [];

        public bool HasWork => Pending.Count > 0 || Markers.Count > 0 || CheckRow;

        /// <summary>The next lock compares the instance row with the sentinel (a commit's clean-up failed).</summary>
        public bool CheckRow { get; set; }

        public bool Locked { get; set; }

        public bool Parked { get; set; }

        public long Token { get; set; }

        public int Abandons { get; set; }

        public DateTime NotBefore { get; set; }

        /// <summary>Adds a message, replacing an earlier copy of the same queue message (re-received after its visibility expired).</summary>
        public void Add(ReceivedMessage message)
        {
            var index = message.Held is null ? -1 : Pending.FindIndex(m => m.Held?.Id == message.Held.Id);
            if (index >= 0)
            {
                // Its count stays the one this process first saw: receiving it again here is no sign that a process died running it.
                Pending[index] = message with { DequeueCount = Pending[index].DequeueCount };
            }
            else
            {
                Pending.Add(message);
            }

            Parked = false;
        }

        public void AddMarker(ReceivedMarker marker)
        {
            Markers.RemoveAll(m => m.Held.Id == marker.Held.Id);
            Markers.Add(marker);
        }
    }

    /// <summary>An activity to run: from the work-item queue, or (Held null) an in-process one of an owned instance.</summary>
    private sealed record ReceivedActivity(ActivityMessage Message, HeldMessage? Held, int DequeueCount, long Attempt = 0)
    {
        public ActivityWorkItem ToWorkItem() => new()
        {
            Message = Message,
            DequeueCount = DequeueCount - 1,
            LockState = Held is null ? new LocalActivityLock(Message, Attempt) : new ActivityLock(Held),
        };
    }

    private sealed record LocalActivityLock(ActivityMessage Message, long Attempt);

    private sealed record ActivityLock(HeldMessage Held);
}
