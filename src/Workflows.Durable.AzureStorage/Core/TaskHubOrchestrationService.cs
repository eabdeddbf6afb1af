using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Workflows.Durable.History;
using Workflows.Durable.Storage;
using Workflows.DurableTask;
using Dt = global::DurableTask.Core;
using DtHistory = global::DurableTask.Core.History;

namespace Workflows.Durable.AzureStorage.Core;

/// <summary>
/// The Azure Storage task hub as a Durable Task Framework backend: DurableTask.Core's <see cref="Dt.IOrchestrationService"/>
/// for a <see cref="Dt.TaskHubWorker"/>, and its client, query and purge interfaces, over one
/// <see cref="AzureStorageProvider"/>. History stays in the task hub's own records; DTFx's events are converted at this
/// boundary (<see cref="HistoryConversions"/>).
/// </summary>
/// <remarks>
/// <para>An orchestration work item is the provider's locked work item: the provider holds the instance (one episode at
/// a time) and renews what it holds, so the work item's lock never needs a renewal from DTFx. Its commit writes the new
/// history, the instance state and every outgoing message at once; a ContinueAsNew arrives as a new execution and
/// replaces the history.</para>
/// <para>Messages for a finished instance are dropped, unless they hold a start, which begins a new execution; an
/// instance without history waits in the provider for its start.</para>
/// <para>With <see cref="TaskHubOrchestrationServiceOptions.ExtendedSessions"/>, a work item is an extended session
/// (<see cref="Dt.TaskOrchestrationWorkItem.Session"/>): its commit keeps the instance locked, and DTFx, which keeps the
/// orchestration's runtime state and executor, receives the instance's next messages from
/// <see cref="Dt.IOrchestrationSession.FetchNewOrchestrationMessagesAsync"/> without replaying its history. The
/// session ends, and the instance is unlocked, when nothing arrives within
/// <see cref="TaskHubOrchestrationServiceOptions.ExtendedSessionIdleTimeout"/>, when the backend stops, when the
/// partition is lost or to be handed to another worker, and when what arrives needs the full lock step.</para>
/// </remarks>
public sealed partial class TaskHubOrchestrationService : Dt.IOrchestrationService, ISessionDrain, IAsyncDisposable
{
    private readonly AzureStorageProvider _provider;
    private readonly TaskHubOrchestrationServiceOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<Dt.TaskOrchestrationWorkItem, LockedEpisode> _episodes = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<Dt.TaskActivityWorkItem, ActivityWorkItem> _activities = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _gate = new();
    private CancellationTokenSource _stopping = new();
    private CancellationTokenSource _sessionsEnding = new();
    private int _disposed;

    /// <summary>Creates the backend over a new provider for the hub <paramref name="storage"/> describes.</summary>
    public TaskHubOrchestrationService(
        AzureStorageOptions storage,
        TaskHubOrchestrationServiceOptions? options = null,
        TimeProvider? timeProvider = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        _options = options ?? new TaskHubOrchestrationServiceOptions();
        _options.Validate();
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _provider = new AzureStorageProvider(storage, _time, lockTimeout: null, _logger);
        TaskHubName = storage.TaskHubName;
    }

    /// <summary>The task hub's name (queries that name other hubs find nothing here).</summary>
    public string TaskHubName { get; }

    /// <summary>The provider this backend adapts.</summary>
    public AzureStorageProvider Provider => _provider;

    /// <inheritdoc />
    public int TaskOrchestrationDispatcherCount => 1;

    /// <inheritdoc />
    public int MaxConcurrentTaskOrchestrationWorkItems => _options.MaxConcurrentOrchestrationWorkItems;

    /// <summary>Events that arrived before a ContinueAsNew are carried over to the new execution unless the orchestrator drops them.</summary>
    public Dt.BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => Dt.BehaviorOnContinueAsNew.Carryover;

    /// <inheritdoc />
    public int TaskActivityDispatcherCount => 1;

    /// <inheritdoc />
    public int MaxConcurrentTaskActivityWorkItems => _options.MaxConcurrentActivityWorkItems;

    private CancellationToken Stopping
    {
        get
        {
            lock (_gate)
            {
                return _stopping.Token;
            }
        }
    }

    /// <summary>Creates the hub's storage where missing and starts taking partition leases and polling.</summary>
    public async Task StartAsync()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
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
        }

        await _provider.CreateIfNotExistsAsync().ConfigureAwait(false);
        await _provider.EnsureStartedAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task StopAsync() => StopAsync(isForced: false);

    /// <inheritdoc />
    public void EndSessions()
    {
        lock (_gate)
        {
            // Disposed (or being disposed): its sessions end with it.
            if (_disposed == 0)
            {
                _sessionsEnding.Cancel();
            }
        }
    }

    /// <summary>Ends the waits for work items (they return none); the provider keeps its leases until disposed.</summary>
    public Task StopAsync(bool isForced)
    {
        lock (_gate)
        {
            _stopping.Cancel();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task CreateAsync() => CreateAsync(recreateInstanceStore: true);

    /// <summary>Creates the hub's storage; with <paramref name="recreateInstanceStore"/>, deletes whatever was there first.</summary>
    public async Task CreateAsync(bool recreateInstanceStore)
    {
        if (recreateInstanceStore)
        {
            await DeleteAsync(deleteInstanceStore: true).ConfigureAwait(false);
        }

        await _provider.CreateIfNotExistsAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task CreateIfNotExistsAsync() => _provider.CreateIfNotExistsAsync();

    /// <inheritdoc />
    public Task DeleteAsync() => DeleteAsync(deleteInstanceStore: true);

    /// <summary>Deletes the hub's tables, queues and containers (the instance store cannot be kept apart from history).</summary>
    public async Task DeleteAsync(bool deleteInstanceStore)
    {
        var clients = _provider.Clients;
        await clients.Instances.DeleteAsync().ConfigureAwait(false);
        await clients.History.DeleteAsync().ConfigureAwait(false);
        await clients.WorkItems.DeleteIfExistsAsync().ConfigureAwait(false);
        await clients.Poison.DeleteIfExistsAsync().ConfigureAwait(false);
        foreach (var queue in clients.ControlQueues)
        {
            await queue.DeleteIfExistsAsync().ConfigureAwait(false);
        }

        await clients.LargeMessages.DeleteIfExistsAsync().ConfigureAwait(false);
        await clients.Leases.DeleteIfExistsAsync().ConfigureAwait(false);
    }

    /// <summary>No limit: the task hub splits no episode's messages.</summary>
    public bool IsMaxMessageCountExceeded(int currentMessageCount, Dt.OrchestrationRuntimeState runtimeState) => false;

    /// <summary>A lost lock is retried at once (the instance is elsewhere now); anything else after a second.</summary>
    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => exception is WorkItemLockLostException ? 0 : 1;

    /// <inheritdoc />
    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => exception is OperationCanceledException ? 0 : 1;

    /// <summary>
    /// Locks the next instance with messages and builds its work item from its committed history; none when
    /// <paramref name="receiveTimeout"/> passes, the caller cancels or the backend stops first.
    /// </summary>
    public async Task<Dt.TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        using var wait = ReceiveWindow(receiveTimeout, cancellationToken);

        while (true)
        {
            OrchestrationWorkItem locked;
            try
            {
                locked = await _provider.LockNextOrchestrationWorkItemAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (wait.IsCancellationRequested)
            {
                return null!;
            }

            // From here the lock is held: whatever fails gives it back before the failure surfaces.
            Dt.TaskOrchestrationWorkItem? workItem;
            try
            {
                workItem = await BuildWorkItemAsync(locked).ConfigureAwait(false);
            }
            catch (WorkItemLockLostException)
            {
                // The partition moved on while the messages were being dropped: the provider gave them back already.
                TaskHubLog.WorkItemLockAlreadyLost(_logger, locked.InstanceId, "orchestration", "dropping its messages");
                continue;
            }
            catch (Exception)
            {
                await AbandonQuietlyAsync(locked).ConfigureAwait(false);
                throw;
            }

            if (workItem is not null)
            {
                return workItem;
            }
        }
    }

    /// <summary>The instance lock is the provider's, which renews what it holds: nothing to do but check it is still this work item's.</summary>
    public Task RenewTaskOrchestrationWorkItemLockAsync(Dt.TaskOrchestrationWorkItem workItem)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        _ = Held(workItem);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Commits the episode: the new history (appended, or replacing the old execution's after a ContinueAsNew or a
    /// restart), the instance state, the activities, the messages to other instances, the timers (delivered at their
    /// <see cref="DtHistory.TimerFiredEvent.FireAt"/>), all in the provider's one commit; the instance lock is released.
    /// </summary>
    public async Task CompleteTaskOrchestrationWorkItemAsync(
        Dt.TaskOrchestrationWorkItem workItem,
        Dt.OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<Dt.TaskMessage> outboundMessages,
        IList<Dt.TaskMessage> orchestratorMessages,
        IList<Dt.TaskMessage> timerMessages,
        Dt.TaskMessage continuedAsNewMessage,
        Dt.OrchestrationState orchestrationState)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(newOrchestrationRuntimeState);
        var episode = Held(workItem);
        if (episode.Committed)
        {
            throw new InvalidOperationException($"The episode of instance '{workItem.InstanceId}' was committed already; the session has no new messages.");
        }

        var commit = orchestrationState is null
            ? DropAll(episode)
            : BuildCommit(workItem.InstanceId, episode, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);

        // A session goes on after its commit unless the execution ended (DTFx ends the session then).
        var keepLock = workItem.Session is not null && commit.State is { } state && !state.Status.IsTerminal();
        OrchestrationWorkItem? held = null;
        try
        {
            if (keepLock)
            {
                held = await _provider.CompleteOrchestrationWorkItemKeepingLockAsync(episode.WorkItem, commit).ConfigureAwait(false);
            }
            else
            {
                await _provider.CompleteOrchestrationWorkItemAsync(episode.WorkItem, commit).ConfigureAwait(false);
            }
        }
        catch (WorkItemLockLostException)
        {
            // The provider gave the messages back already: there is nothing left to abandon or release.
            _episodes.TryRemove(workItem, out _);
            throw;
        }

        if (held is null)
        {
            _episodes.TryRemove(workItem, out _);
            return;
        }

        // The next episode of the session builds on this commit: the same execution, its history appended to.
        var replaced = episode.ReplaceOnCommit
            || (episode.ExecutionId is not null && !string.Equals(episode.ExecutionId, commit.ExecutionId, StringComparison.Ordinal));
        if (replaced)
        {
            episode.Answered.Clear();
        }

        AddOutcomes(episode.Answered, replaced ? newOrchestrationRuntimeState.Events : newOrchestrationRuntimeState.NewEvents);
        episode.WorkItem = held;
        episode.ExecutionId = commit.ExecutionId;
        episode.ReplaceOnCommit = false;
        episode.Committed = true;
        episode.IdleSince = _time.GetUtcNow();
    }

    /// <summary>
    /// Gives the episode's messages back to the provider, which hands them out again after a back-off; a session
    /// between episodes (nothing uncommitted) only unlocks its instance.
    /// </summary>
    public async Task AbandonTaskOrchestrationWorkItemAsync(Dt.TaskOrchestrationWorkItem workItem)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        if (!_episodes.TryRemove(workItem, out var episode))
        {
            return;
        }

        if (episode.Committed)
        {
            _provider.EndSession(episode.WorkItem);
            return;
        }

        await AbandonQuietlyAsync(episode.WorkItem).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends the work item: after its commit there is nothing left to do but unlock the instance a session kept; a work
    /// item neither completed nor abandoned (its processing failed) gives its messages back, so the instance is not
    /// held until the lock expires.
    /// </summary>
    public Task ReleaseTaskOrchestrationWorkItemAsync(Dt.TaskOrchestrationWorkItem workItem) => AbandonTaskOrchestrationWorkItemAsync(workItem);

    /// <summary>Waits for the next activity request; none when <paramref name="receiveTimeout"/> passes, the caller cancels or the backend stops first.</summary>
    public async Task<Dt.TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        using var wait = ReceiveWindow(receiveTimeout, cancellationToken);

        ActivityWorkItem locked;
        try
        {
            locked = await _provider.LockNextActivityWorkItemAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (wait.IsCancellationRequested)
        {
            return null!;
        }

        var workItem = new Dt.TaskActivityWorkItem
        {
            Id = Guid.NewGuid().ToString("N"),
            TaskMessage = locked.Message.ToCore(),
            LockedUntilUtc = DateTime.MaxValue,
            DeliveryAttempt = locked.DequeueCount + 1,
        };
        _activities[workItem] = locked;
        return workItem;
    }

    /// <summary>The provider renews what it holds; this fails once the request was lost to another worker.</summary>
    public async Task<Dt.TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(Dt.TaskActivityWorkItem workItem)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        await _provider.RenewActivityWorkItemLockAsync(HeldActivity(workItem)).ConfigureAwait(false);
        return workItem;
    }

    /// <summary>
    /// Delivers the activity's result to its instance. A holder that lost the request is ignored: the request runs
    /// again elsewhere (activities are at-least-once), and DTFx's orchestrator ignores a second result for a call.
    /// </summary>
    public async Task CompleteTaskActivityWorkItemAsync(Dt.TaskActivityWorkItem workItem, Dt.TaskMessage responseMessage)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(responseMessage);
        if (!_activities.TryRemove(workItem, out var locked))
        {
            return;
        }

        var result = responseMessage.ToStorage();
        if (result.Event is not (TaskCompleted or TaskFailed))
        {
            throw new ArgumentException($"An activity's response holds a {responseMessage.Event.EventType} event.", nameof(responseMessage));
        }

        try
        {
            await _provider.CompleteActivityWorkItemAsync(locked, result).ConfigureAwait(false);
        }
        catch (WorkItemLockLostException)
        {
            // The request is handed out again; this result is not needed.
            TaskHubLog.WorkItemLockAlreadyLost(_logger, locked.Message.InstanceId, "activity", "completed");
        }
    }

    /// <summary>Gives the request back to be run again.</summary>
    public async Task AbandonTaskActivityWorkItemAsync(Dt.TaskActivityWorkItem workItem)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        if (!_activities.TryRemove(workItem, out var locked))
        {
            return;
        }

        try
        {
            await _provider.AbandonActivityWorkItemAsync(locked).ConfigureAwait(false);
        }
        catch (WorkItemLockLostException)
        {
            // Already handed out again.
            TaskHubLog.WorkItemLockAlreadyLost(_logger, locked.Message.InstanceId, "activity", "abandoned");
        }
    }

    /// <summary>Stops the waits, then the provider (which gives its partition leases back).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        lock (_gate)
        {
            _stopping.Cancel();
        }

        await _provider.DisposeAsync().ConfigureAwait(false);
        lock (_gate)
        {
            _stopping.Dispose();
            _sessionsEnding.Dispose();
        }
    }

    /// <summary>How long a lock call waits for work: until <paramref name="receiveTimeout"/> passes, the caller cancels or the backend stops.</summary>
    private CancellationTokenSource ReceiveWindow(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Stopping);
        if (receiveTimeout != Timeout.InfiniteTimeSpan)
        {
            wait.CancelAfter(receiveTimeout);
        }

        return wait;
    }

    /// <summary>
    /// Turns a locked provider work item into DTFx's: the committed history as the runtime state, the messages as new
    /// messages. Messages that no execution can take (the instance finished, and no start among them) are dropped
    /// with an empty commit, and null is returned.
    /// </summary>
    private async Task<Dt.TaskOrchestrationWorkItem?> BuildWorkItemAsync(OrchestrationWorkItem locked)
    {
        var history = await _provider.LoadHistoryAsync(locked).ConfigureAwait(false);
        ExecutionStarted? started = null;
        ExecutionCompleted? completed = null;
        foreach (var historyEvent in history)
        {
            switch (historyEvent)
            {
                case ExecutionStarted s when started is null:
                    started = s;
                    break;
                case ExecutionCompleted c:
                    completed = c;
                    break;
            }
        }

        IEnumerable<OrchestrationMessage> messages = locked.Messages;
        var finished = completed is not null;
        if (completed?.Status == OrchestrationRuntimeStatus.Failed
            && !locked.Messages.Any(m => m.Event is ExecutionStarted)
            && locked.Messages.LastOrDefault(m => m.Event is ExecutionRewound) is { } rewind)
        {
            // A rewind of a failed instance: DTFx's dispatcher rebuilds its history without the failed tasks (a new
            // execution id, so the commit replaces the history). It takes the rewind request alone.
            messages = [rewind];
            finished = false;
        }

        var fresh = started is null || finished;
        if (fresh)
        {
            // A finished (or never started) instance runs again only from a start of another execution; messages for
            // its old execution go, a late copy of its own start among them.
            var oldExecution = started?.ExecutionId;
            var start = locked.Messages.FirstOrDefault(m => m.Event is ExecutionStarted s && (oldExecution is null || !string.Equals(s.ExecutionId, oldExecution, StringComparison.Ordinal)));
            if (start is null)
            {
                await _provider.CompleteOrchestrationWorkItemAsync(locked, new OrchestrationCommit
                {
                    ExecutionId = started?.ExecutionId ?? string.Empty,
                    NewEvents = [],
                    State = null,
                }).ConfigureAwait(false);
                return null;
            }

            messages = locked.Messages.Where(m => oldExecution is null || !string.Equals(m.ExecutionId, oldExecution, StringComparison.Ordinal));
        }

        var runtimeState = fresh ? new Dt.OrchestrationRuntimeState() : new Dt.OrchestrationRuntimeState(history.Select(e => e.ToCore()).ToList());
        var answered = new HashSet<int>();
        AddOutcomes(answered, runtimeState.Events);
        var workItem = new Dt.TaskOrchestrationWorkItem
        {
            InstanceId = locked.InstanceId,
            NewMessages = WithoutAnswered(messages.Select(m => m.ToCore()), answered),
            OrchestrationRuntimeState = runtimeState,
            LockedUntilUtc = DateTime.MaxValue,
        };
        if (_options.ExtendedSessions)
        {
            workItem.Session = new Session(this);
        }

        _episodes[workItem] = new LockedEpisode(locked, started?.ExecutionId, ReplaceOnCommit: fresh && history.Count > 0) { Answered = answered };
        return workItem;
    }

    /// <summary>The id of the call or timer whose outcome <paramref name="historyEvent"/> is; null for any other event.</summary>
    private static int? OutcomeOf(DtHistory.HistoryEvent historyEvent) => historyEvent switch
    {
        DtHistory.TaskCompletedEvent e => e.TaskScheduledId,
        DtHistory.TaskFailedEvent e => e.TaskScheduledId,
        DtHistory.SubOrchestrationInstanceCompletedEvent e => e.TaskScheduledId,
        DtHistory.SubOrchestrationInstanceFailedEvent e => e.TaskScheduledId,
        DtHistory.TimerFiredEvent e => e.TimerId,
        _ => null,
    };

    private static void AddOutcomes(HashSet<int> answered, IEnumerable<DtHistory.HistoryEvent> events)
    {
        foreach (var historyEvent in events)
        {
            if (OutcomeOf(historyEvent) is { } id)
            {
                answered.Add(id);
            }
        }
    }

    /// <summary>
    /// The messages without a second outcome of a call or timer: one the history holds already, or one the batch holds
    /// twice. A commit interrupted after it sent its messages (a storage cut, a crash) sends them again when it is
    /// retried, so the receiver can get a result twice; DTFx's dispatcher would record both. The dropped ones are
    /// deleted with the episode's commit.
    /// </summary>
    private static List<Dt.TaskMessage> WithoutAnswered(IEnumerable<Dt.TaskMessage> messages, HashSet<int> answered) =>
        [.. messages.Where(m => OutcomeOf(m.Event) is not { } id || answered.Add(id))];

    private static OrchestrationCommit BuildCommit(
        string instanceId,
        LockedEpisode episode,
        Dt.OrchestrationRuntimeState runtimeState,
        IList<Dt.TaskMessage>? outboundMessages,
        IList<Dt.TaskMessage>? orchestratorMessages,
        IList<Dt.TaskMessage>? timerMessages,
        Dt.TaskMessage? continuedAsNewMessage,
        Dt.OrchestrationState orchestrationState)
    {
        var executionId = runtimeState.OrchestrationInstance?.ExecutionId
            ?? orchestrationState.OrchestrationInstance?.ExecutionId
            ?? throw new InvalidOperationException($"The episode of instance '{instanceId}' has no execution id.");

        // A new execution (ContinueAsNew, or a restart of a finished instance) replaces the history: all of its
        // events are new, whatever the runtime state counts as new.
        var replace = episode.ReplaceOnCommit
            || (episode.ExecutionId is not null && !string.Equals(episode.ExecutionId, executionId, StringComparison.Ordinal));
        var events = replace ? runtimeState.Events : runtimeState.NewEvents;

        var orchestrations = new List<OrchestrationMessage>();
        foreach (var message in orchestratorMessages ?? [])
        {
            orchestrations.Add(message.ToStorage());
        }

        foreach (var message in timerMessages ?? [])
        {
            var fireAt = message.Event is DtHistory.TimerFiredEvent timer
                ? timer.FireAt
                : throw new ArgumentException($"A timer message holds a {message.Event.EventType} event.", nameof(timerMessages));
            orchestrations.Add(message.ToStorage(fireAt));
        }

        if (continuedAsNewMessage is not null)
        {
            orchestrations.Add(continuedAsNewMessage.ToStorage());
        }

        return new OrchestrationCommit
        {
            ExecutionId = executionId,
            ReplaceHistory = replace,
            NewEvents = events.Select(e => e.ToStorage()).ToList(),
            State = orchestrationState.ToStorage(),
            ActivityMessages = (outboundMessages ?? []).Select(m => m.ToActivityMessage(instanceId, executionId)).ToList(),
            OrchestrationMessages = orchestrations,
        };
    }

    /// <summary>A commit that only removes the work item's messages (DTFx found nothing in them to run).</summary>
    private static OrchestrationCommit DropAll(LockedEpisode episode) => new()
    {
        ExecutionId = episode.ExecutionId ?? string.Empty,
        NewEvents = [],
        State = null,
    };

    private LockedEpisode Held(Dt.TaskOrchestrationWorkItem workItem) =>
        _episodes.TryGetValue(workItem, out var episode)
            ? episode
            : throw new WorkItemLockLostException($"The work item for instance '{workItem.InstanceId}' no longer holds its lock.");

    private ActivityWorkItem HeldActivity(Dt.TaskActivityWorkItem workItem) =>
        _activities.TryGetValue(workItem, out var locked)
            ? locked
            : throw new WorkItemLockLostException($"Activity work item {workItem.Id} no longer holds its lock.");

    private async Task AbandonQuietlyAsync(OrchestrationWorkItem locked)
    {
        try
        {
            await _provider.AbandonOrchestrationWorkItemAsync(locked).ConfigureAwait(false);
        }
        catch (WorkItemLockLostException)
        {
            // The provider released the lost lock itself.
            TaskHubLog.WorkItemLockAlreadyLost(_logger, locked.InstanceId, "orchestration", "abandoned");
        }
    }

    /// <summary>
    /// The next messages of the session's instance, under the lock it kept: null when the session ends instead (its
    /// instance unlocked), after <see cref="TaskHubOrchestrationServiceOptions.ExtendedSessionIdleTimeout"/> without
    /// messages since its last commit, or sooner (see the remarks of the class).
    /// </summary>
    private async Task<IList<Dt.TaskMessage>?> FetchSessionMessagesAsync(Dt.TaskOrchestrationWorkItem workItem)
    {
        if (!_episodes.TryGetValue(workItem, out var episode))
        {
            return null;
        }

        if (!episode.Committed)
        {
            // Only a committed episode goes on: an uncommitted one is abandoned or released by DTFx.
            return null;
        }

        OrchestrationWorkItem? next;
        try
        {
            CancellationToken stopping, ending;
            lock (_gate)
            {
                if (_disposed != 0)
                {
                    // The provider, and the instance lock with it, are gone.
                    _episodes.TryRemove(workItem, out _);
                    return null;
                }

                (stopping, ending) = (_stopping.Token, _sessionsEnding.Token);
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stopping, ending);
            next = await _provider.WaitForSessionMessagesAsync(episode.WorkItem, episode.IdleSince + _options.ExtendedSessionIdleTimeout, wait.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The wait gave what it had taken back and unlocked the instance: the session is over.
            _episodes.TryRemove(workItem, out _);
            throw;
        }

        if (next is null)
        {
            _episodes.TryRemove(workItem, out _);
            return null;
        }

        episode.WorkItem = next;
        episode.Committed = false;
        return WithoutAnswered(next.Messages.Select(m => m.ToCore()), episode.Answered);
    }

    /// <summary>
    /// A locked episode: the provider's work item, the execution its committed history holds, and whether the commit
    /// starts a new history; in a session between episodes, <see cref="Committed"/> and when it went idle.
    /// </summary>
    private sealed class LockedEpisode(OrchestrationWorkItem workItem, string? executionId, bool ReplaceOnCommit)
    {
        public OrchestrationWorkItem WorkItem { get; set; } = workItem;

        public string? ExecutionId { get; set; } = executionId;

        public bool ReplaceOnCommit { get; set; } = ReplaceOnCommit;

        /// <summary>The session's last episode is committed and the instance still locked: nothing uncommitted is held.</summary>
        public bool Committed { get; set; }

        public DateTimeOffset IdleSince { get; set; }

        /// <summary>The calls and timers whose outcome the history holds or the episode was given.</summary>
        public HashSet<int> Answered { get; init; } = [];
    }

    /// <summary>DTFx's extended session over a work item of this backend.</summary>
    private sealed class Session(TaskHubOrchestrationService service) : Dt.IOrchestrationSession
    {
        public Task<IList<Dt.TaskMessage>?> FetchNewOrchestrationMessagesAsync(Dt.TaskOrchestrationWorkItem workItem) => service.FetchSessionMessagesAsync(workItem);

        /// <summary>Nothing to do: DTFx releases the work item after the session, and the release unlocks the instance.</summary>
        public Task EndSessionAsync() => Task.CompletedTask;
    }
}
