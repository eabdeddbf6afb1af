using System.Collections.Concurrent;
using Azure.Data.Tables;
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
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(10);

    private readonly TaskHubClients _clients;
    private readonly LargePayloadStore _payloads;
    private readonly HistoryStore _history;
    private readonly InstanceTable _instances;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _maxPollingInterval;
    private readonly HeldMessages _held;
    private readonly PartitionLeaseManager? _leases;
    private readonly TaskHubQueues _queues;
    private readonly InstanceBuffers _buffers;
    private readonly InstanceLocker _locker;
    private readonly SentinelCache _sentinels = new();
    private readonly LocalActivities _activities;
    private readonly RecoveryMarkers _markers;
    private readonly PoisonMessages _poison;
    private readonly QueuePoller _controlPoller;
    private readonly QueuePoller _activityPoller;
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    /// <summary>Per instance, completed by the next commit of this worker that writes the instance's row (waits in this process end there).</summary>
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _stateWritten = new(StringComparer.Ordinal);
    private bool _started;
    private int _disposed;

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
        var visibility = lockTimeout ?? options.MessageVisibilityTimeout;

        // A sentinel names the worker run that committed (a restarted worker under the same name is another run: the
        // messages its previous run held may still come back). Copies of messages this run committed can show again up
        // to one visibility timeout after its last renewal; the second one is slack for a renewal in flight at a crash,
        // the next owner's receive and the difference between the workers' clocks (docs/task-hub-commit-protocol.md).
        var committer = (options.WorkerId is { } name ? name + "/" : string.Empty) + Guid.NewGuid().ToString("N")[..12];
        _history = new HistoryStore(_clients.History, _payloads, _time, committer, 2 * visibility);
        _logger = logger ?? NullLogger.Instance;
        _instances = new InstanceTable(_clients.Instances, _payloads, _time, _logger);
        _maxPollingInterval = options.MaxQueuePollingInterval;
        _held = new HeldMessages(visibility, _time, _logger);
        _queues = new TaskHubQueues(_clients, _payloads, _held, _time, WakeControlPolling, WakeActivityPolling, _logger);
        _buffers = new InstanceBuffers(Owns, () => _history.RememberedMessageIds, _time);
        _activities = new LocalActivities(_buffers, Owns, RequireOwnership, options.MaxLocalActivityBacklog);
        _poison = new PoisonMessages(_clients, _history, _instances, _queues, options.MaxDequeueCount, _time, _logger);
        _markers = new RecoveryMarkers(_clients, _held, _history, _activities, _poison);
        var controlReceiver = new ControlQueueReceiver(_clients, _held, _buffers, _queues, _poison, _instances, () => OwnedPartitions, _time);
        _locker = new InstanceLocker(_buffers, _sentinels, _history, _instances, _queues, controlReceiver, _markers, _poison, Forget, MinPollingInterval, _time, _logger);
        _controlPoller = new QueuePoller("control", controlReceiver.ReceiveAsync, MinPollingInterval, () => _maxPollingInterval, _time, _logger);

        // Activities of owned instances run in-process; the shared work-item queue holds only what a busy worker
        // spilled for others. Alone on the hub, a worker finds there only what dead workers left behind (spilled
        // activities reappear after the visibility timeout), so it polls that queue four times less often when idle.
        var workItemReceiver = new WorkItemQueueReceiver(_clients, _held, _queues, _poison, _activities);
        _activityPoller = new QueuePoller("work-item", workItemReceiver.ReceiveAsync, MinPollingInterval, () => _leases is { LiveWorkers: > 1 } ? _maxPollingInterval : _maxPollingInterval * 4, _time, _logger);
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

    /// <summary>
    /// Tests only: every queue message this worker still holds shows again at once, as it does when the worker died and
    /// the message's visibility ended (a test of a dead worker's late messages need not wait for it).
    /// </summary>
    internal Task ShowHeldMessagesAgainAsync() => _held.HandBackAllAsync(_held.Snapshot(), CancellationToken.None);

    /// <summary>Tests only: this worker run's name in the sentinels it writes (<c>CommittedBy</c>).</summary>
    internal string Committer => _history.Committer;

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
        await _queues.SendAsync(executionStarted, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task SendMessageAsync(OrchestrationMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _queues.SendAsync(message, cancellationToken);
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
        TaskCompletionSource? committed = null;
        try
        {
            while (true)
            {
                // Taken before the read, so a commit of this worker between the read and the wait is not missed.
                committed = _stateWritten.GetOrAdd(instanceId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                if (await GetInstanceAsync(instanceId, fetchInputsAndOutputs, cancellationToken).ConfigureAwait(false) is { } metadata && condition(metadata))
                {
                    return metadata;
                }

                // A commit of this worker that writes the instance's row ends the wait at once (so a waiter in the worker's
                // process sees its outcome without polling latency); commits of other workers are found by polling,
                // backing off to once a second.
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var woken = await Task.WhenAny(committed.Task, Task.Delay(delay, _time, wait.Token)).ConfigureAwait(false);
                await wait.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                delay = woken == committed.Task ? MinPollingInterval : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
        }
        finally
        {
            // Not left behind for an instance this worker may never commit (another waiter on it adds it again).
            if (committed is not null)
            {
                _stateWritten.TryRemove(KeyValuePair.Create(instanceId, committed));
            }
        }
    }

    // ---- orchestration work items -----------------------------------------------------------------------

    /// <inheritdoc/>
    public async Task<OrchestrationWorkItem> LockNextOrchestrationWorkItemAsync(CancellationToken cancellationToken)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var locked = await _locker.LockNextAsync(cancellationToken).ConfigureAwait(false);
        return new OrchestrationWorkItem
        {
            InstanceId = locked.InstanceId,
            Messages = locked.Lock.Messages.Select(m => m.Message).ToArray(),
            HistoryETag = locked.HistoryETag,
            DequeueCount = locked.Abandons,
            LockState = locked.Lock,
        };
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
        var (etag, _) = await CommitAsync(workItem, commit, keepLock: false, cancellationToken).ConfigureAwait(false);
        return etag;
    }

    /// <summary>
    /// Commits as <see cref="CompleteOrchestrationWorkItemAsync"/> does, but keeps the instance locked for an extended
    /// session: returns the instance's held work item, without messages, to wait on with
    /// <see cref="WaitForSessionMessagesAsync"/> and to end with <see cref="EndSession"/>. Null when the lock was released
    /// after all (a step after the commit point failed, and the next lock of the instance finishes it).
    /// </summary>
    public async Task<OrchestrationWorkItem?> CompleteOrchestrationWorkItemKeepingLockAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(commit);
        var (etag, held) = await CommitAsync(workItem, commit, keepLock: true, cancellationToken).ConfigureAwait(false);
        return held is null ? null : new OrchestrationWorkItem
        {
            InstanceId = workItem.InstanceId,
            Messages = [],
            HistoryETag = etag,
            LockState = held,
        };
    }

    /// <summary>
    /// The extended session's wait between episodes: returns the next messages of the instance it holds, as a work item
    /// under the same lock, as soon as they arrive in this worker (control messages, in-process activity results).
    /// Null when the session ends instead, with the instance unlocked: nothing arrived by <paramref name="idleUntil"/>,
    /// <paramref name="cancellationToken"/> was cancelled, the partition was lost or is to be released, or what arrived
    /// needs the full lock step (a start, recovery markers, a row check, messages that keep failing).
    /// </summary>
    public async Task<OrchestrationWorkItem?> WaitForSessionMessagesAsync(OrchestrationWorkItem held, DateTimeOffset idleUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(held);
        var instanceId = held.InstanceId;
        var state = (InstanceLock)held.LockState;
        while (true)
        {
            var check = _buffers.CheckSession(instanceId, state.Token, out var changed);
            if (check == SessionCheck.Idle)
            {
                var idle = idleUntil - _time.GetUtcNow();
                if (idle <= TimeSpan.Zero || cancellationToken.IsCancellationRequested)
                {
                    EndSession(held);
                    return null;
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var timeout = Task.Delay(idle, _time, wait.Token);
                await Task.WhenAny(changed, timeout).ConfigureAwait(false);
                await wait.CancelAsync().ConfigureAwait(false);
                continue;
            }

            if (check == SessionCheck.Ended)
            {
                await EndSessionAsync(instanceId, state).ConfigureAwait(false);
                return null;
            }

            if (_buffers.InspectSession(instanceId, state.Token) is not ({ HasStart: false, CheckRow: false } buffered, false) || _poison.IsPoisoned(buffered))
            {
                // The full lock step handles it: the session gives the instance up, and the unlock wakes the dispatchers.
                EndSession(held);
                return null;
            }

            // Copies of messages that history already records (received again after a late renewal, or held by a
            // worker that died) go: the same rule as the full lock step's (RememberedIds). With no room for more
            // queue messages beside the ids the sentinel must keep, the full lock step defers the instance.
            var remembered = RememberedIds.Of(state.Sentinel);
            var room = _history.QueueMessageRoom(remembered);
            if (room == 0)
            {
                EndSession(held);
                return null;
            }

            var locked = new LockedInstance(instanceId, state.Token);
            var messages = _buffers.TakeBatch(locked, remembered, room);
            try
            {
                (messages, _) = await remembered.DropCopiesAsync(messages, _queues, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // Storage failed: the messages go back in front, the instance is unlocked, and the next lock retries.
                var taken = new TakenWork();
                taken.Messages.AddRange(messages);
                _buffers.UnlockFailed(locked, taken);
                _buffers.Signal();
                TaskHubLog.LockFailed(_logger, instanceId, exception.GetType().Name, exception.Message);
                throw;
            }

            if (messages.Count > 0)
            {
                return new OrchestrationWorkItem
                {
                    InstanceId = instanceId,
                    Messages = messages.Select(m => m.Message).ToArray(),
                    HistoryETag = held.HistoryETag,
                    LockState = new InstanceLock(state.Token, state.Sentinel, messages),
                };
            }
        }
    }

    /// <summary>Ends an extended session between episodes (nothing uncommitted is held): the instance is unlocked.</summary>
    public void EndSession(OrchestrationWorkItem held)
    {
        ArgumentNullException.ThrowIfNull(held);
        _buffers.Unlock(held.InstanceId, (InstanceLock)held.LockState, UnlockOutcome.Completed);
    }

    /// <summary>
    /// Ends a session told to end: while the partition is still this worker's (it is to be released), the instance is
    /// unlocked; once it is not, whatever waits for the instance here goes back to the queue for the new owner.
    /// </summary>
    private async Task EndSessionAsync(string instanceId, InstanceLock state)
    {
        if (Owns(instanceId))
        {
            _buffers.Unlock(instanceId, state, UnlockOutcome.Completed);
            return;
        }

        await ReleaseLostLockAsync(instanceId, state).ConfigureAwait(false);
    }

    /// <summary>The commit sequence; with <paramref name="keepLock"/>, the instance stays locked afterwards and its lock state for the next episode is returned.</summary>
    private async Task<(string ETag, InstanceLock? Held)> CommitAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, bool keepLock, CancellationToken cancellationToken)
    {
        var instanceId = workItem.InstanceId;
        var state = (InstanceLock)workItem.LockState;
        await RequireLockOrReleaseAsync(instanceId, state).ConfigureAwait(false);
        var plan = _activities.Plan(instanceId, state.Messages, commit, othersAlive: _leases is { LiveWorkers: > 1 });

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

            await _queues.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }

        Faults?.Reached(CommitStep.MessagesSent, instanceId);
        foreach (var activity in plan.ToSpill)
        {
            await _queues.SendActivityAsync(activity, cancellationToken).ConfigureAwait(false);
        }

        Faults?.Reached(CommitStep.ActivitiesSpilled, instanceId);
        var marker = plan.NeedsMarker ? await _markers.EnsureAsync(instanceId, plan, cancellationToken).ConfigureAwait(false) : plan.Marker;
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
                _sentinels.Remember(instanceId, sentinel);
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
        _activities.Start(instanceId, commit.ExecutionId, plan, marker);
        var etag = sentinel?.ETag.ToString() ?? string.Empty;
        try
        {
            Faults?.Reached(CommitStep.HistoryCommitted, instanceId);

            // 3. Instance state, when the commit changed it.
            var version = HistoryStore.StateVersionOf(sentinel);
            if (commit.State is { } update && version != HistoryStore.StateVersionOf(state.Sentinel))
            {
                await _instances.WriteStateAsync(instanceId, commit.ExecutionId, update, version, cancellationToken).ConfigureAwait(false);
                if (_stateWritten.TryRemove(instanceId, out var written))
                {
                    written.TrySetResult();
                }
            }

            Faults?.Reached(CommitStep.InstanceRowWritten, instanceId);

            // 4. Only now are the processed messages removed from their queues.
            foreach (var received in state.Messages)
            {
                await _queues.DeleteAsync(received, cancellationToken).ConfigureAwait(false);
            }

            Faults?.Reached(CommitStep.MessagesDeleted, instanceId);

            // 5. No activity of this instance runs here any more: the marker has done its job.
            if (!plan.NeedsMarker && marker is { } done)
            {
                await _markers.DeleteAsync(done, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception)
        {
            // The episode is committed, so it must not run again: what did not happen after the commit point is
            // finished by the next lock of the instance (see UnlockOutcome.CommittedCleanupFailed).
            TaskHubLog.CleanupAfterCommitFailed(_logger, instanceId, exception.GetType().Name, exception.Message);
            if (!plan.NeedsMarker && marker is { } done)
            {
                // The marker has done its job: when it shows again, nothing of the instance is outstanding and it is deleted.
                _markers.StopRenewing(done);
            }

            _buffers.Unlock(instanceId, state, UnlockOutcome.CommittedCleanupFailed);
            return (etag, null);
        }

        if (keepLock && _buffers.KeepLocked(instanceId, state.Token))
        {
            return (etag, new InstanceLock(state.Token, sentinel, []));
        }

        _buffers.Unlock(instanceId, state, UnlockOutcome.Completed);
        return (etag, null);
    }

    /// <inheritdoc/>
    public async Task AbandonOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var state = (InstanceLock)workItem.LockState;
        await RequireLockOrReleaseAsync(workItem.InstanceId, state).ConfigureAwait(false);
        _buffers.Unlock(workItem.InstanceId, state, UnlockOutcome.Abandoned);
    }

    // ---- activity work items ----------------------------------------------------------------------------

    /// <inheritdoc/>
    public async Task<ActivityWorkItem> LockNextActivityWorkItemAsync(CancellationToken cancellationToken)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ready = _activities.TryDequeue(out var changed);
            if (ready is null)
            {
                await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (ready.Held is null && _poison.IsPoisoned(ready.DequeueCount))
            {
                await PoisonLocalActivityAsync(ready, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                return new ActivityWorkItem
                {
                    Message = ready.Message,
                    DequeueCount = ready.DequeueCount - 1,
                    LockState = ready.Held is null ? new LocalActivityLock(ready.Message, ready.Attempt) : new ActivityLock(ready.Held),
                };
            }
        }
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
            _activities.DeliverResult(local, result);
            return;
        }

        var state = (ActivityLock)workItem.LockState;

        // The result is sent before the request is deleted: a crash in between re-runs the activity, never loses it.
        await _queues.SendAsync(result, cancellationToken).ConfigureAwait(false);
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
            _activities.Abandon(local, workItem.DequeueCount + 2);
            return;
        }

        if (!await _held.HandBackAsync(((ActivityLock)workItem.LockState).Held, cancellationToken).ConfigureAwait(false))
        {
            throw new WorkItemLockLostException("The activity's queue message was already released.");
        }
    }

    /// <summary>An in-process activity handed out too often without finishing: its call fails with the reason.</summary>
    private async Task PoisonLocalActivityAsync(ReceivedActivity activity, CancellationToken cancellationToken)
    {
        var failed = await _poison.PoisonLocalActivityAsync(activity.Message, activity.DequeueCount, cancellationToken).ConfigureAwait(false);
        try
        {
            _activities.DeliverResult(new LocalActivityLock(activity.Message, activity.Attempt), failed);
        }
        catch (WorkItemLockLostException exception)
        {
            // The partition moved on meanwhile: its new owner recovers the call.
            TaskHubLog.PoisonedActivityNotDelivered(_logger, activity.Message.InstanceId, activity.Message.Event.Name, exception.Message);
        }
    }

    // ---- internals ---------------------------------------------------------------------------------------

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
    private Task ReleaseLostLockAsync(string instanceId, InstanceLock state) =>
        _held.HandBackAllAsync(_buffers.ReleaseLost(instanceId, state), CancellationToken.None);

    private void RequireLock(string instanceId, InstanceLock state)
    {
        if (!_buffers.Holds(instanceId, state.Token))
        {
            throw new WorkItemLockLostException($"The lock on instance '{instanceId}' was lost; nothing was committed.");
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

    private bool Owns(string instanceId) => Owns(_clients.Names.PartitionOf(instanceId));

    private void WakeActivityPolling() => _activityPoller.Wake();

    /// <summary>A message sent to a control queue this worker polls ends the polling back-off.</summary>
    private void WakeControlPolling(int partition)
    {
        if (Owns(partition))
        {
            _controlPoller.Wake();
        }
    }

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
    /// <remarks>Extended sessions holding instances of the partition are asked to end, so that a later round can release it.</remarks>
    private bool CanReleasePartition(int partition)
    {
        bool InPartition(string instanceId) => _clients.Names.PartitionOf(instanceId) == partition;
        if (!_buffers.AnyLocked(InPartition))
        {
            return true;
        }

        _buffers.EndSessions(InPartition);
        return false;
    }

    /// <summary>
    /// A released or lost partition: its buffered messages and recovery markers are made visible at once for the
    /// new owner, which re-runs the in-process activities whose results this worker had not committed; whatever
    /// this worker still runs for that partition is refused when it finishes.
    /// </summary>
    private async Task ReleasePartitionAsync(int partition, CancellationToken cancellationToken)
    {
        bool InPartition(string instanceId) => _clients.Names.PartitionOf(instanceId) == partition;
        var handBack = _buffers.ReleasePartition(InPartition);
        foreach (var (instanceId, marker) in _activities.ReleasePartition(InPartition))
        {
            // The recovery markers of the partition's in-process activities are handed back with the rest: the new
            // owner receives them at once and recovers the calls whose results were not committed (what still runs
            // here is refused when it finishes, so waiting for the markers' visibility to end would only delay it).
            if (marker is not null)
            {
                handBack.Add(marker);
            }

            _instances.Forget(instanceId);
        }

        foreach (var instanceId in _sentinels.ForgetWhere(InPartition))
        {
            _instances.Forget(instanceId);
        }

        await _held.HandBackAllAsync(handBack, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drops what this worker believed about an instance after another worker wrote it.</summary>
    private void Forget(string instanceId)
    {
        if (_activities.Forget(instanceId) is { } marker)
        {
            // Whoever owns the instance now recovers its activities when the marker shows again.
            _markers.StopRenewing(marker);
        }

        _sentinels.Forget(instanceId);
        _instances.Forget(instanceId);
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
            catch (OrchestrationAlreadyExistsException exception)
            {
                // Created meanwhile (a redelivered start): the running child rejects the duplicate start.
                TaskHubLog.ChildCreatedMeanwhile(_logger, child.InstanceId, exception.Status.ToString());
            }
        }

        return true;
    }
}
