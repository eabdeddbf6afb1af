using System.Globalization;
using DurableTask.Core;
using DurableTask.Core.History;

namespace Workflows.DurableTask.InMemory;

/// <summary>
/// A Durable Task Framework backend that keeps everything in this process's memory: DurableTask.Core's
/// <see cref="IOrchestrationService"/> for a <see cref="TaskHubWorker"/> and its client, query and purge interfaces
/// for clients. Nothing survives the process; it is for tests and for runs that need no durability.
/// </summary>
/// <remarks>
/// <para>Orchestration work items are session-locked per instance: one episode at a time per instance; messages that
/// arrive during an episode wait in the instance's inbox for the next one. A message for an instance that does not
/// exist or has finished is dropped, as DTFx's Azure Storage provider drops it, except a rewind request for a Failed
/// instance, which DTFx's dispatcher carries out; a start message begins a new
/// execution of a finished instance.</para>
/// <para>Durable timers (<see cref="TimerFiredEvent"/>) and scheduled starts are delivered when the durable clock
/// (<see cref="InMemoryOrchestrationServiceOptions.TimeProvider"/>) reaches their time. ContinueAsNew carries
/// unprocessed events over (<see cref="BehaviorOnContinueAsNew.Carryover"/>) and replaces the history with the new
/// execution's. Suspend and resume arrive as <see cref="ExecutionSuspendedEvent"/> and
/// <see cref="ExecutionResumedEvent"/> messages, which DTFx's executor applies.</para>
/// <para>Activity work items are locked to one worker for <see cref="InMemoryOrchestrationServiceOptions.ActivityLockTimeout"/>;
/// a renewal extends the lock, an abandon hands the item out again after
/// <see cref="InMemoryOrchestrationServiceOptions.AbandonRetryDelay"/>, an expired lock hands it out again and drops
/// the late result of the old holder. With <see cref="InMemoryOrchestrationServiceOptions.ExtendedSessionIdleTimeout"/>
/// a worker keeps an instance's session between episodes and is handed its new messages without a replay.</para>
/// </remarks>
public sealed partial class InMemoryOrchestrationService : IOrchestrationService, ISessionDrain, IDisposable
{
    private readonly InMemoryOrchestrationServiceOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, InstanceRecord> _instances = new(StringComparer.Ordinal);
    private readonly WorkQueue<InstanceRecord> _ready = new();
    private readonly WorkQueue<TaskActivityWorkItem> _activities = new();
    private readonly Dictionary<string, TaskActivityWorkItem> _lockedActivities = new(StringComparer.Ordinal);
    private readonly PriorityQueue<DelayedEntry, (DateTime Due, long Sequence)> _delayed = new();
    private readonly ITimer _delayTimer;
    private readonly ITimer _lockSweepTimer;
    private DateTime _delayTimerDue = DateTime.MaxValue;
    private CancellationTokenSource _stopping = new();
    private CancellationTokenSource _sessionsEnding = new();
    private long _sequence;
    private long _activityIds;
    private bool _disposed;

    /// <summary>Creates an empty in-memory backend.</summary>
    public InMemoryOrchestrationService(InMemoryOrchestrationServiceOptions? options = null)
    {
        _options = options ?? new InMemoryOrchestrationServiceOptions();
        _options.Validate();
        _time = _options.TimeProvider;
        _delayTimer = _time.CreateTimer(_ => OnDelayTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _lockSweepTimer = _time.CreateTimer(_ => SweepExpiredActivityLocks(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The task hub name reported in queries.</summary>
    public string TaskHubName => _options.TaskHubName;

    /// <inheritdoc />
    public int TaskOrchestrationDispatcherCount => 1;

    /// <inheritdoc />
    public int MaxConcurrentTaskOrchestrationWorkItems => _options.MaxConcurrentOrchestrationWorkItems;

    /// <inheritdoc />
    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => BehaviorOnContinueAsNew.Carryover;

    /// <inheritdoc />
    public int TaskActivityDispatcherCount => 1;

    /// <inheritdoc />
    public int MaxConcurrentTaskActivityWorkItems => _options.MaxConcurrentActivityWorkItems;

    /// <summary>Durable timers, scheduled starts and delayed redeliveries not yet due (for tests and diagnostics).</summary>
    internal int DelayedCount
    {
        get
        {
            lock (_gate)
            {
                return _delayed.Count;
            }
        }
    }

    private DateTime UtcNow => _time.GetUtcNow().UtcDateTime;

    /// <inheritdoc />
    public Task StartAsync()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_stopping.IsCancellationRequested)
            {
                _stopping.Dispose();
                _stopping = new CancellationTokenSource();
            }

            if (_sessionsEnding.IsCancellationRequested)
            {
                _sessionsEnding.Dispose();
                _sessionsEnding = new CancellationTokenSource();
            }

            if (_options.ActivityLockTimeout is { } lockTimeout)
            {
                TimeSpan period = lockTimeout / 4;
                _lockSweepTimer.Change(period, period);
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync() => StopAsync(isForced: false);

    /// <inheritdoc />
    public void EndSessions()
    {
        lock (_gate)
        {
            // Disposed: its sessions ended with it.
            if (!_disposed)
            {
                _sessionsEnding.Cancel();
            }
        }
    }

    /// <inheritdoc />
    public Task StopAsync(bool isForced)
    {
        lock (_gate)
        {
            _lockSweepTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _stopping.Cancel();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task CreateAsync() => CreateAsync(recreateInstanceStore: true);

    /// <inheritdoc />
    public Task CreateAsync(bool recreateInstanceStore)
    {
        if (recreateInstanceStore)
        {
            Clear();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task CreateIfNotExistsAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public Task DeleteAsync() => DeleteAsync(deleteInstanceStore: true);

    /// <inheritdoc />
    public Task DeleteAsync(bool deleteInstanceStore)
    {
        Clear();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) => false;

    /// <inheritdoc />
    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => 0;

    /// <inheritdoc />
    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => exception is OperationCanceledException ? 0 : 1;

    /// <inheritdoc />
    public async Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        while (true)
        {
            InstanceRecord? record = await NextAsync(_ready, receiveTimeout, cancellationToken).ConfigureAwait(false);
            if (record is null)
            {
                return null!;
            }

            lock (_gate)
            {
                record.Queued = false;
                if (record.LockedBy is not null || record.Inbox.Count == 0 || record.NotBefore > UtcNow)
                {
                    continue;
                }

                List<TaskMessage>? messages = TakeExecutableMessages(record, out bool freshExecution);
                if (messages is null)
                {
                    ForgetIfEmpty(record);
                    continue;
                }

                var workItem = new TaskOrchestrationWorkItem
                {
                    InstanceId = record.InstanceId,
                    NewMessages = messages,
                    OrchestrationRuntimeState = freshExecution || record.History is null
                        ? new OrchestrationRuntimeState()
                        : new OrchestrationRuntimeState(record.History),
                    LockedUntilUtc = DateTime.MaxValue,
                };
                if (_options.ExtendedSessionIdleTimeout is { } idle)
                {
                    workItem.Session = new InMemorySession(this, record, idle);
                }

                record.LockedBy = workItem;
                return workItem;
            }
        }
    }

    /// <inheritdoc />
    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        lock (_gate)
        {
            _ = HeldRecord(workItem);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem,
        OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages,
        IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(newOrchestrationRuntimeState);
        lock (_gate)
        {
            InstanceRecord record = HeldRecord(workItem);
            if (orchestrationState is not null)
            {
                record.History = [.. newOrchestrationRuntimeState.Events];
                record.HistoryStatus = orchestrationState.OrchestrationStatus;
                record.HistoryExecutionId = newOrchestrationRuntimeState.OrchestrationInstance?.ExecutionId;
                record.State = orchestrationState;
                record.TerminatedBeforeStart = null;
            }

            if (outboundMessages is not null)
            {
                foreach (TaskMessage message in outboundMessages)
                {
                    _activities.Enqueue(new TaskActivityWorkItem
                    {
                        Id = NextActivityId(),
                        TaskMessage = message,
                        LockedUntilUtc = DateTime.MaxValue,
                        DeliveryAttempt = 1,
                    });
                }
            }

            if (orchestratorMessages is not null)
            {
                foreach (TaskMessage message in orchestratorMessages)
                {
                    Deliver(message);
                }
            }

            if (timerMessages is not null)
            {
                foreach (TaskMessage message in timerMessages)
                {
                    DateTime fireAt = message.Event is TimerFiredEvent timer
                        ? timer.FireAt
                        : throw new ArgumentException($"A timer message holds a {message.Event.EventType} event.", nameof(timerMessages));
                    ScheduleOrDeliver(message, fireAt);
                }
            }

            if (continuedAsNewMessage is not null)
            {
                Deliver(continuedAsNewMessage);
            }

            if (orchestrationState is not null && IsTerminal(orchestrationState.OrchestrationStatus))
            {
                NotifyWaiters(record);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Puts the episode's messages back at the front of the inbox, to be handed out after the abandon delay.</summary>
    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => OnHeldRecord(workItem, record =>
    {
        if (workItem.NewMessages is { Count: > 0 } messages)
        {
            record.Inbox.InsertRange(0, messages);
            workItem.NewMessages = [];
        }

        if (_options.AbandonRetryDelay > TimeSpan.Zero)
        {
            record.NotBefore = UtcNow + _options.AbandonRetryDelay;
            Schedule(DelayedEntry.Wake(record), record.NotBefore);
        }
    });

    /// <summary>Frees the instance's session lock; messages that arrived during the episode make it ready again.</summary>
    public Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => OnHeldRecord(workItem, record =>
    {
        record.LockedBy = null;
        record.SessionWaiter = null;
        MakeReadyIfDue(record);
        ForgetIfEmpty(record);
    });

    /// <inheritdoc />
    public async Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        TaskActivityWorkItem? workItem = await NextAsync(_activities, receiveTimeout, cancellationToken).ConfigureAwait(false);
        if (workItem is null)
        {
            return null!;
        }

        lock (_gate)
        {
            workItem.LockedUntilUtc = _options.ActivityLockTimeout is { } lockTimeout ? UtcNow + lockTimeout : DateTime.MaxValue;
            _lockedActivities[workItem.Id] = workItem;
        }

        return workItem;
    }

    /// <inheritdoc />
    public Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        lock (_gate)
        {
            if (!_lockedActivities.TryGetValue(workItem.Id, out TaskActivityWorkItem? held) || !ReferenceEquals(held, workItem))
            {
                throw new InvalidOperationException($"The lock on activity work item {workItem.Id} has been lost.");
            }

            if (_options.ActivityLockTimeout is { } lockTimeout)
            {
                workItem.LockedUntilUtc = UtcNow + lockTimeout;
            }
        }

        return Task.FromResult(workItem);
    }

    /// <inheritdoc />
    public Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(responseMessage);
        lock (_gate)
        {
            // A holder whose lock expired lost the work item to another delivery: its late result is dropped.
            if (ReleaseActivity(workItem))
            {
                Deliver(responseMessage);
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        lock (_gate)
        {
            if (ReleaseActivity(workItem))
            {
                TaskActivityWorkItem again = Redelivery(workItem);
                if (_options.AbandonRetryDelay > TimeSpan.Zero)
                {
                    Schedule(DelayedEntry.Redeliver(again), UtcNow + _options.AbandonRetryDelay);
                }
                else
                {
                    _activities.Enqueue(again);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stopping.Cancel();
        }

        _delayTimer.Dispose();
        _lockSweepTimer.Dispose();
        lock (_gate)
        {
            _stopping.Dispose();
            _sessionsEnding.Dispose();
        }
    }

    /// <summary>The next item of <paramref name="queue"/>: at once when one is there, else waiting until the timeout, the caller's cancellation or a stop.</summary>
    private async ValueTask<T?> NextAsync<T>(WorkQueue<T> queue, TimeSpan timeout, CancellationToken cancellationToken)
        where T : class
    {
        if (_stopping.IsCancellationRequested)
        {
            return null;
        }

        if (queue.TryDequeue(out T? item))
        {
            return item;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        return await queue.DequeueAsync(timeout, linked.Token).ConfigureAwait(false);
    }

    private static bool IsTerminal(OrchestrationStatus status) =>
        status is OrchestrationStatus.Completed or OrchestrationStatus.Failed or OrchestrationStatus.Terminated or OrchestrationStatus.Canceled;

    private static bool IsLive(OrchestrationStatus status) =>
        status is OrchestrationStatus.Running or OrchestrationStatus.Pending or OrchestrationStatus.Suspended;

    private static TaskActivityWorkItem Redelivery(TaskActivityWorkItem workItem) => new()
    {
        Id = workItem.Id,
        TaskMessage = workItem.TaskMessage,
        LockedUntilUtc = DateTime.MaxValue,
        DeliveryAttempt = workItem.DeliveryAttempt + 1,
    };

    private string NextActivityId() => Interlocked.Increment(ref _activityIds).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Takes the inbox for an episode, or drops it when no execution can consume it: the instance does not exist, or
    /// it has finished and the messages hold no new start. A start of a finished (or never started) instance begins
    /// a fresh execution; messages addressed to an older execution are dropped then.
    /// </summary>
    private List<TaskMessage>? TakeExecutableMessages(InstanceRecord record, out bool freshExecution)
    {
        freshExecution = false;
        List<TaskMessage> messages = [.. record.Inbox];
        record.Inbox.Clear();
        if (record.History is not null && IsLive(record.HistoryStatus))
        {
            return messages;
        }

        TaskMessage? start = messages.Find(m => m.Event is ExecutionStartedEvent);
        if (start is null
            && record.History is not null
            && record.HistoryStatus == OrchestrationStatus.Failed
            && messages.FindLast(m => m.Event is ExecutionRewoundEvent) is { } rewind)
        {
            // A rewind of a failed instance: DTFx's dispatcher rebuilds its history without the failed tasks. It takes
            // the rewind request alone.
            return [rewind];
        }

        if (start is null)
        {
            if (record.History is null
                && record.State is { OrchestrationStatus: OrchestrationStatus.Pending } pending
                && messages.Find(m => m.Event is ExecutionTerminatedEvent) is { } terminate)
            {
                // Terminated before it started (a start scheduled for later): the instance ends Terminated now.
                pending.OrchestrationStatus = OrchestrationStatus.Terminated;
                pending.Output = ((ExecutionTerminatedEvent)terminate.Event).Input;
                pending.LastUpdatedTime = UtcNow;
                pending.CompletedTime = pending.LastUpdatedTime;
                record.TerminatedBeforeStart = pending.OrchestrationInstance.ExecutionId;
                NotifyWaiters(record);
            }

            return null;
        }

        string executionId = start.OrchestrationInstance.ExecutionId;
        if (executionId is not null && string.Equals(executionId, record.TerminatedBeforeStart, StringComparison.Ordinal))
        {
            return null;
        }

        string? oldExecutionId = record.History is null ? null : record.HistoryExecutionId;
        messages.RemoveAll(m => oldExecutionId is not null
            && string.Equals(m.OrchestrationInstance.ExecutionId, oldExecutionId, StringComparison.Ordinal));
        freshExecution = true;
        return messages;
    }

    /// <summary>Puts a message in its instance's inbox; a start message also creates the instance as Pending.</summary>
    private void Deliver(TaskMessage message)
    {
        string instanceId = message.OrchestrationInstance?.InstanceId
            ?? throw new ArgumentException("A message has no target instance.", nameof(message));
        InstanceRecord record = GetOrAddRecord(instanceId);
        if (message.Event is ExecutionStartedEvent started
            && (record.State is null
                || (!IsLive(record.State.OrchestrationStatus)
                    && !string.Equals(record.State.OrchestrationInstance.ExecutionId, message.OrchestrationInstance.ExecutionId, StringComparison.Ordinal))))
        {
            record.State = PendingState(message.OrchestrationInstance, started);
        }

        record.Inbox.Add(message);
        MakeReadyIfDue(record);
    }

    private void ScheduleOrDeliver(TaskMessage message, DateTime due)
    {
        if (due <= UtcNow)
        {
            Deliver(message);
        }
        else
        {
            Schedule(DelayedEntry.Deliver(message), due);
        }
    }

    private OrchestrationState PendingState(OrchestrationInstance instance, ExecutionStartedEvent started)
    {
        DateTime now = UtcNow;
        return new OrchestrationState
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = instance.InstanceId, ExecutionId = instance.ExecutionId },
            Name = started.Name,
            Version = started.Version,
            Input = started.Input,
            Tags = started.Tags,
            ParentInstance = started.ParentInstance,
            OrchestrationStatus = OrchestrationStatus.Pending,
            CreatedTime = now,
            LastUpdatedTime = now,
            CompletedTime = DateTime.MinValue,
            ScheduledStartTime = started.ScheduledStartTime,
        };
    }

    /// <summary>Hands the instance to a worker (or to the session that holds it) when it has messages that are due.</summary>
    private void MakeReadyIfDue(InstanceRecord record)
    {
        if (record.Inbox.Count == 0 || record.NotBefore > UtcNow)
        {
            return;
        }

        if (record.LockedBy is not null)
        {
            if (record.SessionWaiter is { } waiter)
            {
                record.SessionWaiter = null;
                waiter.TrySetResult(true);
            }

            return;
        }

        if (!record.Queued)
        {
            record.Queued = true;
            _ready.Enqueue(record);
        }
    }

    private InstanceRecord GetOrAddRecord(string instanceId)
    {
        if (!_instances.TryGetValue(instanceId, out InstanceRecord? record))
        {
            record = new InstanceRecord(instanceId);
            _instances.Add(instanceId, record);
        }

        return record;
    }

    private void ForgetIfEmpty(InstanceRecord record)
    {
        if (record.IsEmpty && !record.Queued)
        {
            _instances.Remove(record.InstanceId);
        }
    }

    /// <summary>Runs <paramref name="action"/> on the instance whose session lock <paramref name="workItem"/> holds; a lock no longer held does nothing.</summary>
    private Task OnHeldRecord(TaskOrchestrationWorkItem workItem, Action<InstanceRecord> action)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        lock (_gate)
        {
            if (FindHeldRecord(workItem) is { } record)
            {
                action(record);
            }
        }

        return Task.CompletedTask;
    }

    private InstanceRecord? FindHeldRecord(TaskOrchestrationWorkItem workItem) =>
        _instances.TryGetValue(workItem.InstanceId, out InstanceRecord? record) && ReferenceEquals(record.LockedBy, workItem)
            ? record
            : null;

    private InstanceRecord HeldRecord(TaskOrchestrationWorkItem workItem) =>
        FindHeldRecord(workItem)
        ?? throw new InvalidOperationException($"The session lock on instance '{workItem.InstanceId}' is not held by this work item.");

    private bool ReleaseActivity(TaskActivityWorkItem workItem)
    {
        if (_lockedActivities.TryGetValue(workItem.Id, out TaskActivityWorkItem? held) && ReferenceEquals(held, workItem))
        {
            _lockedActivities.Remove(workItem.Id);
            return true;
        }

        return false;
    }

    private static void NotifyWaiters(InstanceRecord record)
    {
        if (record.State is not { } state || record.Waiters.Count == 0)
        {
            return;
        }

        string executionId = state.OrchestrationInstance.ExecutionId;
        for (int i = record.Waiters.Count - 1; i >= 0; i--)
        {
            CompletionWaiter waiter = record.Waiters[i];
            if (waiter.ExecutionId is null || string.Equals(waiter.ExecutionId, executionId, StringComparison.Ordinal))
            {
                record.Waiters.RemoveAt(i);
                waiter.Completion.TrySetResult(state);
            }
        }
    }

    private void Schedule(DelayedEntry entry, DateTime due)
    {
        _delayed.Enqueue(entry, (due, _sequence++));
        ArmDelayTimer();
    }

    private void ArmDelayTimer()
    {
        if (!_delayed.TryPeek(out _, out (DateTime Due, long Sequence) next))
        {
            _delayTimerDue = DateTime.MaxValue;
            _delayTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        if (next.Due == _delayTimerDue)
        {
            return;
        }

        _delayTimerDue = next.Due;
        TimeSpan wait = next.Due - UtcNow;
        wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > WorkQueue<InstanceRecord>.MaxTimerDelay ? WorkQueue<InstanceRecord>.MaxTimerDelay : wait;
        _delayTimer.Change(wait, Timeout.InfiniteTimeSpan);
    }

    private void OnDelayTimer()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            DateTime now = UtcNow;
            while (_delayed.TryPeek(out DelayedEntry? entry, out (DateTime Due, long Sequence) key) && key.Due <= now)
            {
                _delayed.Dequeue();
                if (entry.Message is { } message)
                {
                    Deliver(message);
                }
                else if (entry.Activity is { } activity)
                {
                    _activities.Enqueue(activity);
                }
                else if (entry.Instance is { } record)
                {
                    MakeReadyIfDue(record);
                }
            }

            _delayTimerDue = DateTime.MaxValue;
            ArmDelayTimer();
        }
    }

    private void SweepExpiredActivityLocks()
    {
        lock (_gate)
        {
            if (_disposed || _lockedActivities.Count == 0)
            {
                return;
            }

            DateTime now = UtcNow;
            List<TaskActivityWorkItem>? expired = null;
            foreach (TaskActivityWorkItem workItem in _lockedActivities.Values)
            {
                if (workItem.LockedUntilUtc <= now)
                {
                    (expired ??= []).Add(workItem);
                }
            }

            if (expired is null)
            {
                return;
            }

            foreach (TaskActivityWorkItem workItem in expired)
            {
                _lockedActivities.Remove(workItem.Id);
                _activities.Enqueue(Redelivery(workItem));
            }
        }
    }

    private void Clear()
    {
        lock (_gate)
        {
            _instances.Clear();
            _ready.Clear();
            _activities.Clear();
            _lockedActivities.Clear();
            _delayed.Clear();
            ArmDelayTimer();
        }
    }

    /// <summary>Waits, in an extended session, for the session's instance to receive new messages.</summary>
    internal async Task<IList<TaskMessage>?> FetchSessionMessagesAsync(InstanceRecord record, TaskOrchestrationWorkItem workItem, TimeSpan idleTimeout)
    {
        TaskCompletionSource<bool> signal;
        lock (_gate)
        {
            if (!ReferenceEquals(record.LockedBy, workItem) || _stopping.IsCancellationRequested || _sessionsEnding.IsCancellationRequested)
            {
                return null;
            }

            if (TakeSessionMessages(record) is { } ready)
            {
                return ready;
            }

            signal = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            record.SessionWaiter = signal;
        }

        CancellationToken stopping, ending;
        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }

            (stopping, ending) = (_stopping.Token, _sessionsEnding.Token);
        }

        using (var idle = CancellationTokenSource.CreateLinkedTokenSource(stopping, ending))
        {
            idle.CancelAfter(idleTimeout);
            using (idle.Token.Register(() => signal.TrySetResult(false)))
            {
                _ = await signal.Task.ConfigureAwait(false);
            }
        }

        lock (_gate)
        {
            if (ReferenceEquals(record.SessionWaiter, signal))
            {
                record.SessionWaiter = null;
            }

            return ReferenceEquals(record.LockedBy, workItem) && !_stopping.IsCancellationRequested && !_sessionsEnding.IsCancellationRequested
                ? TakeSessionMessages(record)
                : null;
        }
    }

    private List<TaskMessage>? TakeSessionMessages(InstanceRecord record)
    {
        if (record.Inbox.Count == 0 || record.NotBefore > UtcNow)
        {
            return null;
        }

        List<TaskMessage> messages = [.. record.Inbox];
        record.Inbox.Clear();
        return messages;
    }
}
