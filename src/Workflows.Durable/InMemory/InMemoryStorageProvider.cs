using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.InMemory;

/// <summary>
/// A storage provider that keeps the task hub in process memory: for tests, benchmarks and single-process
/// development. Every operation runs under one lock, so each commit is atomic. Time (timers, scheduled starts,
/// lock expiry) comes from the given <see cref="TimeProvider"/>, so tests drive it with a fake clock.
/// </summary>
public sealed class InMemoryStorageProvider : IStorageProvider, IDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _lockTimeout;
    private readonly Dictionary<string, InstanceRecord> _instances = new(StringComparer.Ordinal);
    private readonly Queue<InstanceRecord> _readyInstances = new();
    private readonly Queue<ActivityEntry> _activityQueue = new();
    private readonly Dictionary<long, ActivityEntry> _lockedActivities = [];
    private readonly PriorityQueue<OrchestrationMessage, DateTime> _delayedMessages = new();
    private readonly PriorityQueue<InstanceRecord, DateTime> _instanceLockExpiries = new();
    private readonly PriorityQueue<ActivityEntry, DateTime> _activityLockExpiries = new();
    private readonly AsyncWaitQueue _orchestrationWaiters = new();
    private readonly AsyncWaitQueue _activityWaiters = new();
    private readonly AsyncWaitQueue _stateWaiters = new();
    private readonly ITimer _wakeTimer;
    private readonly ITimer _lockSweepTimer;
    private DateTime _wakeTimerDue = DateTime.MaxValue;
    private long _nextToken;
    private long _nextETag;

    /// <summary>Creates an empty in-memory task hub.</summary>
    /// <param name="timeProvider">Clock for timers, scheduled starts and lock expiry (default: system clock).</param>
    /// <param name="lockTimeout">How long a work item stays locked without being completed (default 5 minutes).</param>
    public InMemoryStorageProvider(TimeProvider? timeProvider = null, TimeSpan? lockTimeout = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _lockTimeout = lockTimeout ?? TimeSpan.FromMinutes(5);
        _wakeTimer = _time.CreateTimer(static state => ((InMemoryStorageProvider)state!).OnWakeTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        // Expired locks are swept on a fixed period rather than by re-arming a timer per lock: locking stays cheap,
        // and a fake clock advanced by a test can never race a re-arm and miss the expiry.
        var sweep = TimeSpan.FromTicks(Math.Max(_lockTimeout.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks));
        _lockSweepTimer = _time.CreateTimer(static state => ((InMemoryStorageProvider)state!).OnWakeTimer(), this, sweep, sweep);
    }

    /// <summary>Number of activity requests waiting or running.</summary>
    public int PendingActivityCount
    {
        get
        {
            lock (_gate)
            {
                return _activityQueue.Count + _lockedActivities.Count;
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _wakeTimer.Dispose();
        _lockSweepTimer.Dispose();
    }

    /// <inheritdoc/>
    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task CreateInstanceAsync(OrchestrationMessage executionStarted, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(executionStarted);
        if (executionStarted.Event is not ExecutionStarted started)
        {
            throw new ArgumentException("CreateInstanceAsync needs an ExecutionStarted message.", nameof(executionStarted));
        }

        lock (_gate)
        {
            if (_instances.TryGetValue(started.InstanceId, out var existing) && !existing.Status.IsTerminal())
            {
                throw new OrchestrationAlreadyExistsException(started.InstanceId, existing.Status);
            }

            _instances[started.InstanceId] = NewRecord(started);
            Send(executionStarted, Now());
            _stateWaiters.WakeAll();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task SendMessageAsync(OrchestrationMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_gate)
        {
            Send(message, Now());
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool fetchInputsAndOutputs, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_instances.TryGetValue(instanceId, out var record) ? record.ToMetadata(fetchInputsAndOutputs) : null);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            IReadOnlyList<HistoryEvent> history = _instances.TryGetValue(instanceId, out var record) ? record.History.ToArray() : [];
            return Task.FromResult(history);
        }
    }

    /// <inheritdoc/>
    public Task<OrchestrationQueryResult> QueryInstancesAsync(OrchestrationQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var after = query.ContinuationToken is { } token ? ContinuationTokens.Decode(token) : null;
        lock (_gate)
        {
            var page = new List<OrchestrationMetadata>(query.PageSize);
            string? last = null;
            var more = false;
            foreach (var id in _instances.Keys.Order(StringComparer.Ordinal))
            {
                if (after is not null && string.CompareOrdinal(id, after) <= 0)
                {
                    continue;
                }

                var metadata = _instances[id].ToMetadata(query.FetchInputsAndOutputs);
                if (!query.Matches(metadata))
                {
                    continue;
                }

                if (page.Count == query.PageSize)
                {
                    more = true;
                    break;
                }

                page.Add(metadata);
                last = id;
            }

            return Task.FromResult(new OrchestrationQueryResult(page, more ? ContinuationTokens.Encode(last!) : null));
        }
    }

    /// <inheritdoc/>
    public Task<bool> PurgeInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var purged = _instances.TryGetValue(instanceId, out var record) && record.Status.IsTerminal() && _instances.Remove(instanceId);
            if (purged)
            {
                _stateWaiters.WakeAll();
            }

            return Task.FromResult(purged);
        }
    }

    /// <inheritdoc/>
    public Task<int> PurgeInstancesAsync(PurgeInstancesFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        lock (_gate)
        {
            var doomed = _instances.Values
                .Where(r => r.Status.IsTerminal()
                    && (filter.Statuses is not { Count: > 0 } statuses || statuses.Contains(r.Status))
                    && (filter.CreatedFrom is not { } from || r.CreatedAt >= from)
                    && (filter.CreatedTo is not { } to || r.CreatedAt <= to))
                .Select(r => r.InstanceId)
                .ToList();
            foreach (var id in doomed)
            {
                _instances.Remove(id);
            }

            _stateWaiters.WakeAll();
            return Task.FromResult(doomed.Count);
        }
    }

    /// <inheritdoc/>
    public Task<OrchestrationMetadata> WaitForInstanceAsync(
        string instanceId,
        Func<OrchestrationMetadata, bool> condition,
        bool fetchInputsAndOutputs,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return WaitForStateAsync(
            () => _instances.TryGetValue(instanceId, out var record) && record.ToMetadata(fetchInputsAndOutputs) is { } metadata && condition(metadata) ? metadata : null,
            cancellationToken);
    }

    /// <summary>Waits until the instance's committed history satisfies <paramref name="condition"/> (for tests and tools).</summary>
    public Task<IReadOnlyList<HistoryEvent>> WaitForHistoryAsync(
        string instanceId,
        Func<IReadOnlyList<HistoryEvent>, bool> condition,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return WaitForStateAsync<IReadOnlyList<HistoryEvent>>(
            () => _instances.TryGetValue(instanceId, out var record) && record.History.ToArray() is { } history && condition(history) ? history : null,
            cancellationToken);
    }

    /// <inheritdoc/>
    public Task<OrchestrationWorkItem> LockNextOrchestrationWorkItemAsync(CancellationToken cancellationToken) =>
        TakeWhenAvailableAsync(_orchestrationWaiters, () => _readyInstances.Count, TryLockInstance, cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<HistoryEvent>> LoadHistoryAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var (record, _) = (InstanceLock)workItem.LockState;
        lock (_gate)
        {
            IReadOnlyList<HistoryEvent> history = record.History.ToArray();
            return Task.FromResult(history);
        }
    }

    /// <inheritdoc/>
    public Task<string> CompleteOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(commit);
        lock (_gate)
        {
            var now = Now();
            var record = RequireLock(workItem, now);
            if (commit.ReplaceHistory)
            {
                record.History = [.. commit.NewEvents];
            }
            else
            {
                record.History.AddRange(commit.NewEvents);
            }

            if (commit.ReplaceHistory || commit.NewEvents.Count > 0)
            {
                record.ETag = NextETag();
            }

            if (commit.State is { } state)
            {
                record.ExecutionId = commit.ExecutionId;
                record.Name = state.Name;
                record.Status = state.Status;
                record.Input = state.Input;
                record.Output = state.Output;
                record.CustomStatus = state.CustomStatus;
                record.Failure = state.FailureDetails;
                record.ParentInstanceId = state.ParentInstanceId;
                record.LastUpdatedAt = _time.GetUtcNow();
            }

            record.Locked = false;
            record.InFlight = null;
            record.DequeueCount = 0;
            foreach (var activity in commit.ActivityMessages)
            {
                _activityQueue.Enqueue(new ActivityEntry(activity));
            }

            _activityWaiters.Wake(commit.ActivityMessages.Count);
            foreach (var message in commit.OrchestrationMessages)
            {
                Send(message, now);
            }

            MakeReady(record);
            _stateWaiters.WakeAll();
            return Task.FromResult(record.ETag);
        }
    }

    /// <inheritdoc/>
    public Task AbandonOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        lock (_gate)
        {
            var record = RequireLock(workItem, Now());
            Unlock(record);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<ActivityWorkItem> LockNextActivityWorkItemAsync(CancellationToken cancellationToken) =>
        TakeWhenAvailableAsync(_activityWaiters, () => _activityQueue.Count, TryLockActivity, cancellationToken);

    /// <inheritdoc/>
    public Task RenewActivityWorkItemLockAsync(ActivityWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        lock (_gate)
        {
            var now = Now();
            var entry = RequireLock(workItem, now);
            entry.LockExpiry = now + _lockTimeout;
            _activityLockExpiries.Enqueue(entry, entry.LockExpiry);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task CompleteActivityWorkItemAsync(ActivityWorkItem workItem, OrchestrationMessage result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(result);
        lock (_gate)
        {
            var now = Now();
            var entry = RequireLock(workItem, now);
            _lockedActivities.Remove(entry.LockToken);
            entry.LockToken = 0;
            Send(result, now);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task AbandonActivityWorkItemAsync(ActivityWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        lock (_gate)
        {
            var entry = RequireLock(workItem, Now());
            RequeueActivity(entry);
        }

        return Task.CompletedTask;
    }

    /// <summary>Returns <paramref name="check"/>'s first non-null answer, re-checking after every state change.</summary>
    private async Task<T> WaitForStateAsync<T>(Func<T?> check, CancellationToken cancellationToken)
        where T : class
    {
        while (true)
        {
            TaskCompletionSource changed;
            lock (_gate)
            {
                if (check() is { } result)
                {
                    return result;
                }

                changed = _stateWaiters.Enqueue();
            }

            await AsyncWaitQueue.WaitAsync(changed, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes the next work item as soon as <paramref name="tryTake"/> finds one.</summary>
    private async Task<T> TakeWhenAvailableAsync<T>(AsyncWaitQueue waiters, Func<int> backlog, Func<DateTime, T?> tryTake, CancellationToken cancellationToken)
        where T : class
    {
        while (true)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // This caller may have been woken for work it will not take: pass the wake-up on.
                lock (_gate)
                {
                    waiters.Wake(backlog());
                }

                cancellationToken.ThrowIfCancellationRequested();
            }

            TaskCompletionSource available;
            lock (_gate)
            {
                var now = Now();
                ReleaseDue(now);
                if (tryTake(now) is { } item)
                {
                    return item;
                }

                available = waiters.Enqueue();
            }

            await AsyncWaitQueue.WaitAsync(available, cancellationToken).ConfigureAwait(false);
        }
    }

    private OrchestrationWorkItem? TryLockInstance(DateTime now)
    {
        while (_readyInstances.TryDequeue(out var record))
        {
            record.Queued = false;
            if (record.Locked || record.Pending.Count == 0 || !IsCurrent(record) || !record.Dispatchable)
            {
                continue;
            }

            record.Locked = true;
            record.LockToken = ++_nextToken;
            record.LockExpiry = now + _lockTimeout;
            record.InFlight = record.Pending;
            record.Pending = [];
            _instanceLockExpiries.Enqueue(record, record.LockExpiry);
            return new OrchestrationWorkItem
            {
                InstanceId = record.InstanceId,
                Messages = record.InFlight,
                HistoryETag = record.ETag,
                DequeueCount = record.DequeueCount,
                LockState = new InstanceLock(record, record.LockToken),
            };
        }

        return null;
    }

    private ActivityWorkItem? TryLockActivity(DateTime now)
    {
        if (!_activityQueue.TryDequeue(out var entry))
        {
            return null;
        }

        entry.LockToken = ++_nextToken;
        entry.LockExpiry = now + _lockTimeout;
        _lockedActivities[entry.LockToken] = entry;
        _activityLockExpiries.Enqueue(entry, entry.LockExpiry);
        return new ActivityWorkItem { Message = entry.Message, DequeueCount = entry.DequeueCount, LockState = new ActivityLock(entry, entry.LockToken) };
    }

    private DateTime Now() => _time.GetUtcNow().UtcDateTime;

    private string NextETag() => (++_nextETag).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private InstanceRecord NewRecord(ExecutionStarted started) => new(started.InstanceId)
    {
        Name = started.Name,
        ExecutionId = started.ExecutionId,
        Status = OrchestrationRuntimeStatus.Pending,
        CreatedAt = _time.GetUtcNow(),
        LastUpdatedAt = _time.GetUtcNow(),
        ScheduledStartTime = started.ScheduledStartTime is { } at ? new DateTimeOffset(at, TimeSpan.Zero) : null,
        Input = started.Input,
        ParentInstanceId = started.ParentInstance?.InstanceId,
        ETag = NextETag(),
    };

    private bool IsCurrent(InstanceRecord record) =>
        _instances.TryGetValue(record.InstanceId, out var current) && ReferenceEquals(current, record);

    /// <summary>Delivers a message now or parks it until it is visible. Caller holds the lock.</summary>
    private void Send(OrchestrationMessage message, DateTime now)
    {
        if (message.VisibleAt is { } visibleAt && visibleAt > now)
        {
            _delayedMessages.Enqueue(message, visibleAt);
            ArmWakeTimer(visibleAt, now);
            return;
        }

        if (message.Event is ExecutionStarted started
            && (!_instances.TryGetValue(message.InstanceId, out var existing) || existing.Status.IsTerminal())
            && started.ParentInstance is not null)
        {
            // A sub-orchestration start creates (or replaces a finished) child instance.
            _instances[message.InstanceId] = NewRecord(started);
            _stateWaiters.WakeAll();
        }

        if (!_instances.TryGetValue(message.InstanceId, out var record))
        {
            return;
        }

        record.Pending.Add(message);
        MakeReady(record);
    }

    private void MakeReady(InstanceRecord record)
    {
        if (record.Locked || record.Queued || record.Pending.Count == 0 || !record.Dispatchable)
        {
            return;
        }

        record.Queued = true;
        _readyInstances.Enqueue(record);
        _orchestrationWaiters.Wake();
    }

    private void Unlock(InstanceRecord record)
    {
        if (record.InFlight is { } inFlight)
        {
            inFlight.AddRange(record.Pending);
            record.Pending = inFlight;
        }

        record.InFlight = null;
        record.Locked = false;
        record.DequeueCount++;
        MakeReady(record);
    }

    private void RequeueActivity(ActivityEntry entry)
    {
        _lockedActivities.Remove(entry.LockToken);
        entry.LockToken = 0;
        entry.DequeueCount++;
        _activityQueue.Enqueue(entry);
        _activityWaiters.Wake();
    }

    private InstanceRecord RequireLock(OrchestrationWorkItem workItem, DateTime now)
    {
        var (record, token) = (InstanceLock)workItem.LockState;
        ReleaseDue(now);
        if (!IsCurrent(record) || !record.Locked || record.LockToken != token)
        {
            throw new WorkItemLockLostException($"The lock on instance '{workItem.InstanceId}' was lost (expired, or the instance was purged or recreated); nothing was committed.");
        }

        return record;
    }

    private ActivityEntry RequireLock(ActivityWorkItem workItem, DateTime now)
    {
        var (entry, token) = (ActivityLock)workItem.LockState;
        ReleaseDue(now);
        if (entry.LockToken != token || !_lockedActivities.ContainsKey(token))
        {
            throw new WorkItemLockLostException($"The lock on activity '{workItem.Message.Event.Name}' of instance '{workItem.Message.InstanceId}' expired; it will run again.");
        }

        return entry;
    }

    /// <summary>Delivers due delayed messages and expires overdue locks. Caller holds the lock.</summary>
    private void ReleaseDue(DateTime now)
    {
        while (_delayedMessages.TryPeek(out var message, out var visibleAt) && visibleAt <= now)
        {
            _delayedMessages.Dequeue();
            Send(message with { VisibleAt = null }, now);
        }

        while (_instanceLockExpiries.TryPeek(out var record, out var expiry) && expiry <= now)
        {
            _instanceLockExpiries.Dequeue();
            if (record.Locked && record.LockExpiry <= now)
            {
                Unlock(record);
            }
        }

        while (_activityLockExpiries.TryPeek(out var entry, out var expiry) && expiry <= now)
        {
            _activityLockExpiries.Dequeue();
            if (entry.LockToken != 0 && entry.LockExpiry <= now)
            {
                RequeueActivity(entry);
            }
        }

        _wakeTimerDue = DateTime.MaxValue;
        if (_delayedMessages.TryPeek(out _, out var next))
        {
            ArmWakeTimer(next, now);
        }
    }

    private void ArmWakeTimer(DateTime due, DateTime now)
    {
        if (due == DateTime.MaxValue || due >= _wakeTimerDue)
        {
            return;
        }

        _wakeTimerDue = due;
        var delay = due - now;
        _wakeTimer.Change(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
    }

    private void OnWakeTimer()
    {
        lock (_gate)
        {
            ReleaseDue(Now());
        }
    }

    private sealed record InstanceLock(InstanceRecord Record, long Token);

    private sealed record ActivityLock(ActivityEntry Entry, long Token);

    private sealed class ActivityEntry(ActivityMessage message)
    {
        public ActivityMessage Message { get; } = message;

        public int DequeueCount { get; set; }

        public long LockToken { get; set; }

        public DateTime LockExpiry { get; set; }
    }

    private sealed class InstanceRecord(string instanceId)
    {
        public string InstanceId { get; } = instanceId;

        public required string Name { get; set; }

        public required string ExecutionId { get; set; }

        public OrchestrationRuntimeStatus Status { get; set; }

        public DateTimeOffset CreatedAt { get; init; }

        public DateTimeOffset LastUpdatedAt { get; set; }

        public DateTimeOffset? ScheduledStartTime { get; init; }

        public string? Input { get; set; }

        public string? Output { get; set; }

        public string? CustomStatus { get; set; }

        public FailureDetails? Failure { get; set; }

        public string? ParentInstanceId { get; set; }

        public List<HistoryEvent> History { get; set; } = [];

        public required string ETag { get; set; }

        public List<OrchestrationMessage> Pending { get; set; } = [];

        public List<OrchestrationMessage>? InFlight { get; set; }

        public bool Locked { get; set; }

        public long LockToken { get; set; }

        public DateTime LockExpiry { get; set; }

        public int DequeueCount { get; set; }

        public bool Queued { get; set; }

        /// <summary>An instance runs once it has history or its ExecutionStarted has become visible.</summary>
        public bool Dispatchable => History.Count > 0 || Pending.Exists(static m => m.Event is ExecutionStarted);

        public OrchestrationMetadata ToMetadata(bool withPayloads) => new()
        {
            Name = Name,
            InstanceId = InstanceId,
            ExecutionId = ExecutionId,
            RuntimeStatus = Status,
            CreatedAt = CreatedAt,
            LastUpdatedAt = LastUpdatedAt,
            ScheduledStartTime = ScheduledStartTime,
            ParentInstanceId = ParentInstanceId,
            SerializedInput = withPayloads ? Input : null,
            SerializedOutput = withPayloads ? Output : null,
            SerializedCustomStatus = withPayloads ? CustomStatus : null,
            FailureDetails = Failure,
        };
    }
}
