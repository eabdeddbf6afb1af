using Azure.Data.Tables;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>A message for an instance: from a control queue, or (Held null) an in-process activity result.</summary>
internal sealed record ReceivedMessage(HeldMessage? Held, int DequeueCount, string? EnvelopeId, OrchestrationMessage Message);

/// <summary>A recovery marker received from a control queue.</summary>
internal sealed record ReceivedMarker(HeldMessage Held, int DequeueCount, IReadOnlyList<int> Spilled);

/// <summary>The lock state of an orchestration work item: the buffer's lock token, the sentinel read, the messages taken.</summary>
internal sealed record InstanceLock(long Token, TableEntity? Sentinel, List<ReceivedMessage> Messages);

/// <summary>An instance whose buffer this worker has just locked, before its work item is built.</summary>
internal sealed record LockedInstance(string InstanceId, long Token);

/// <summary>What the lock step needs to know about a locked buffer.</summary>
/// <param name="HasStart">An <see cref="ExecutionStarted"/> waits in it.</param>
/// <param name="Abandons">Work items of the instance abandoned in a row.</param>
/// <param name="MaxDequeueCount">The highest dequeue count of its queue messages (0 when none).</param>
/// <param name="CheckRow">The instance row must be compared with the sentinel (a commit's clean-up failed).</param>
/// <param name="HasTerminate">An <see cref="ExecutionTerminated"/> waits in it.</param>
internal sealed record BufferState(bool HasStart, int Abandons, int MaxDequeueCount, bool CheckRow, bool HasTerminate = false);

/// <summary>How a work item's lock on its instance ends.</summary>
internal enum UnlockOutcome
{
    /// <summary>Committed and cleaned up: nothing goes back, the abandon count starts over.</summary>
    Completed,

    /// <summary>
    /// Abandoned: every message of the work item goes back ahead of what arrived meanwhile, and the instance backs off
    /// (1, 2, 4 ... seconds, at most a minute) before its next attempt.
    /// </summary>
    Abandoned,

    /// <summary>
    /// Committed, but a step after the commit point failed: the queue messages still held go back (the next lock finds
    /// them recorded in the sentinel and deletes them), in-process results do not (the commit recorded them), the next
    /// lock compares the instance row with the sentinel, and it may come at once: no back-off.
    /// </summary>
    CommittedCleanupFailed,
}

/// <summary>What the extended session holding an instance finds in its buffer.</summary>
internal enum SessionCheck
{
    /// <summary>Nothing waits yet: wait for the change task.</summary>
    Idle,

    /// <summary>Messages, recovery markers or a row check wait.</summary>
    Work,

    /// <summary>The session must end: its lock is gone, its partition is not owned, or the partition is to be released.</summary>
    Ended,
}

/// <summary>
/// The per-instance buffers of the control messages this worker received, the in-process activity results and the
/// recovery markers, and the locks that turn a buffer into an orchestration work item. The only owner of the
/// buffers: every access takes its lock, and nothing else runs under that lock but the partition ownership check.
/// </summary>
internal sealed class InstanceBuffers(Func<string, bool> owns, Func<int> rememberedMessageIds, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, InstanceBuffer> _buffers = new(StringComparer.Ordinal);
    private readonly WakeUp _changed = new();
    private long _nextToken;

    /// <summary>Completes at the next <see cref="Signal"/>: messages arrived or a lock ended with work left.</summary>
    public Task Changed => _changed.Next;

    /// <summary>Wakes the dispatchers waiting on <see cref="Changed"/>.</summary>
    public void Signal() => _changed.Fire();

    /// <summary>Adds a message to the instance's buffer (callers signal once per batch).</summary>
    public void Add(string instanceId, ReceivedMessage message)
    {
        lock (_gate)
        {
            var buffer = BufferOf(instanceId);
            buffer.Add(message);
            buffer.WakeSession();
        }
    }

    /// <summary>Adds a recovery marker to the instance's buffer (callers signal once per batch).</summary>
    public void AddMarker(string instanceId, ReceivedMarker marker)
    {
        lock (_gate)
        {
            var buffer = BufferOf(instanceId);
            buffer.AddMarker(marker);
            buffer.WakeSession();
        }
    }

    /// <summary>Locks an unlocked instance of an owned partition that has work and may run now; null when there is none.</summary>
    public LockedInstance? TryLockNext()
    {
        var now = Now();
        lock (_gate)
        {
            foreach (var (id, candidate) in _buffers)
            {
                if (!candidate.Locked && candidate.HasWork && !candidate.Parked && candidate.NotBefore <= now && owns(id))
                {
                    candidate.Locked = true;
                    candidate.Token = ++_nextToken;
                    return new LockedInstance(id, candidate.Token);
                }
            }
        }

        return null;
    }

    /// <summary>What waits in a locked buffer; the row check it asked for is handed over (and cleared).</summary>
    public BufferState Inspect(LockedInstance locked)
    {
        lock (_gate)
        {
            var buffer = _buffers[locked.InstanceId];
            var state = new BufferState(
                buffer.Pending.Exists(m => m.Message.Event is ExecutionStarted),
                buffer.Abandons,
                buffer.Pending.Where(m => m.Held is not null).Select(m => m.DequeueCount).DefaultIfEmpty(0).Max(),
                buffer.CheckRow,
                buffer.Pending.Exists(m => m.Message.Event is ExecutionTerminated));
            buffer.CheckRow = false;
            return state;
        }
    }

    /// <summary>
    /// Takes the recovery markers of a locked buffer and, unless <paramref name="waitForStart"/>, the next batch of
    /// messages with at most <paramref name="limit"/> new queue messages (<see cref="TakeBatchLocked"/>). With
    /// <paramref name="waitForStart"/> (no history and no start yet) the messages stay, the buffer is parked until an
    /// <see cref="ExecutionStarted"/> arrives or its instance turns out not to exist, and it is unlocked.
    /// </summary>
    public (List<ReceivedMessage> Messages, List<ReceivedMarker> Markers) TakeWork(LockedInstance locked, bool waitForStart, RememberedIds remembered, int limit)
    {
        lock (_gate)
        {
            var buffer = _buffers[locked.InstanceId];
            var markers = buffer.Markers;
            buffer.Markers = [];
            if (waitForStart)
            {
                buffer.Parked = buffer.Pending.Count > 0;
                UnlockBuffer(locked.InstanceId, buffer);
                return ([], markers);
            }

            return (TakeBatchLocked(buffer, remembered, limit), markers);
        }
    }

    /// <summary>
    /// Takes the next batch of a locked buffer's messages (<see cref="TakeBatchLocked"/>): at most
    /// <paramref name="limit"/> new queue messages (half the sentinel's window when not given).
    /// </summary>
    public List<ReceivedMessage> TakeBatch(LockedInstance locked, RememberedIds? remembered = null, int? limit = null)
    {
        lock (_gate)
        {
            return TakeBatchLocked(_buffers[locked.InstanceId], remembered, limit ?? rememberedMessageIds() / 2);
        }
    }

    /// <summary>
    /// Unlocks a buffer whose lock produced no work item; it is dropped when nothing waits in it. With
    /// <paramref name="notBefore"/>, what waits in it is not locked again before then (its sentinel has no room for
    /// more message ids until a hold ends).
    /// </summary>
    public void UnlockUnused(LockedInstance locked, bool resetAbandons = false, DateTimeOffset? notBefore = null)
    {
        lock (_gate)
        {
            var buffer = _buffers[locked.InstanceId];
            if (resetAbandons)
            {
                buffer.Abandons = 0;
            }

            if (notBefore is { } at && at.UtcDateTime > buffer.NotBefore)
            {
                buffer.NotBefore = at.UtcDateTime;
            }

            UnlockBuffer(locked.InstanceId, buffer);
        }
    }

    /// <summary>
    /// Unlocks a buffer whose lock step failed (storage away), putting back in front what the step took out of it —
    /// messages (in-process results among them, which no queue holds), recovery markers and the row check — so that
    /// a later lock delivers them instead of losing them.
    /// </summary>
    public void UnlockFailed(LockedInstance locked, TakenWork taken)
    {
        lock (_gate)
        {
            if (!_buffers.TryGetValue(locked.InstanceId, out var buffer) || !buffer.Locked || buffer.Token != locked.Token)
            {
                // The step had unlocked the buffer already (it was waiting for its start): nothing of it is held.
                return;
            }

            buffer.Pending = [.. taken.Messages, .. buffer.Pending];
            buffer.Markers = [.. taken.Markers, .. buffer.Markers];
            buffer.CheckRow |= taken.CheckRow;
            buffer.Locked = false;
            buffer.EndSession = false;
        }
    }

    /// <summary>
    /// For the extended session holding the instance's lock under <paramref name="token"/>: whether work waits, the
    /// session must end, or (<see cref="SessionCheck.Idle"/>) <paramref name="changed"/> completes when that may have
    /// changed (a message or marker arrives, the partition is lost or to be released).
    /// </summary>
    public SessionCheck CheckSession(string instanceId, long token, out Task changed)
    {
        changed = Task.CompletedTask;
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || !buffer.Locked || buffer.Token != token || buffer.EndSession || !owns(instanceId))
            {
                return SessionCheck.Ended;
            }

            if (buffer.HasWork)
            {
                return SessionCheck.Work;
            }

            buffer.SessionWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            changed = buffer.SessionWaiter.Task;
            return SessionCheck.Idle;
        }
    }

    /// <summary>
    /// What waits in the buffer a session holds, as <see cref="Inspect"/> sees it, and whether recovery markers wait
    /// too; nothing is taken or cleared. Null when the session no longer holds the lock.
    /// </summary>
    public (BufferState State, bool HasMarkers)? InspectSession(string instanceId, long token)
    {
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || !buffer.Locked || buffer.Token != token)
            {
                return null;
            }

            var state = new BufferState(
                buffer.Pending.Exists(m => m.Message.Event is ExecutionStarted),
                buffer.Abandons,
                buffer.Pending.Where(m => m.Held is not null).Select(m => m.DequeueCount).DefaultIfEmpty(0).Max(),
                buffer.CheckRow);
            return (state, buffer.Markers.Count > 0);
        }
    }

    /// <summary>
    /// The extended sessions holding instances of a partition end at their next check (the partition is to be
    /// handed to another worker, which needs it free of locks).
    /// </summary>
    public void EndSessions(Func<string, bool> inPartition)
    {
        lock (_gate)
        {
            foreach (var (instanceId, buffer) in _buffers)
            {
                if (buffer.Locked && inPartition(instanceId))
                {
                    buffer.EndSession = true;
                    buffer.WakeSession();
                }
            }
        }
    }

    /// <summary>
    /// A committed episode keeps its instance locked for the extended session's next one: the abandon count starts
    /// over. False when the lock is not the work item's any more.
    /// </summary>
    public bool KeepLocked(string instanceId, long token)
    {
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || !buffer.Locked || buffer.Token != token)
            {
                return false;
            }

            buffer.Abandons = 0;
            return true;
        }
    }

    /// <summary>Whether the work item holding <paramref name="token"/> still holds the instance's lock.</summary>
    public bool Holds(string instanceId, long token)
    {
        lock (_gate)
        {
            return _buffers.TryGetValue(instanceId, out var buffer) && buffer.Locked && buffer.Token == token;
        }
    }

    /// <summary>
    /// Ends the lock of a work item (nothing when its token is not the buffer's any more). What goes back into the
    /// buffer, and whether the instance backs off, depends on <paramref name="outcome"/>; in every case the buffer is
    /// dropped when nothing waits in it, and otherwise the dispatchers are woken for what arrived while it was locked.
    /// </summary>
    public void Unlock(string instanceId, InstanceLock state, UnlockOutcome outcome)
    {
        bool wake;
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || buffer.Token != state.Token)
            {
                return;
            }

            switch (outcome)
            {
                case UnlockOutcome.Completed:
                    buffer.Abandons = 0;
                    break;
                case UnlockOutcome.Abandoned:
                    buffer.Pending = [.. state.Messages, .. buffer.Pending];
                    buffer.Abandons++;
                    buffer.NotBefore = Now().AddSeconds(Math.Min(60, Math.Pow(2, buffer.Abandons - 1)));
                    break;
                case UnlockOutcome.CommittedCleanupFailed:
                    buffer.Pending = [.. state.Messages.Where(m => m.Held is { Gone: false }), .. buffer.Pending];
                    buffer.CheckRow = true;
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null);
            }

            buffer.Locked = false;
            buffer.EndSession = false;
            wake = buffer.HasWork;
            if (!wake)
            {
                _buffers.Remove(instanceId);
            }
        }

        if (wake)
        {
            Signal();
        }
    }

    /// <summary>
    /// Ends the lock of a work item whose lock was lost (nothing when it no longer holds it). While the partition is
    /// still this worker's, its messages go back into the buffer for an episode on the current history; otherwise the
    /// buffer is dropped and the held messages it had, with the work item's, are returned to be handed back.
    /// </summary>
    public List<HeldMessage> ReleaseLost(string instanceId, InstanceLock state)
    {
        List<HeldMessage> handBack = [];
        var wake = false;
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || buffer.Token != state.Token || !buffer.Locked)
            {
                return handBack;
            }

            if (owns(instanceId))
            {
                buffer.Pending = [.. state.Messages, .. buffer.Pending];
                buffer.Locked = false;
                buffer.EndSession = false;
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
            Signal();
        }

        return handBack;
    }

    /// <summary>When the earliest instance that is backing off after abandoned work items may run again.</summary>
    public DateTime? NextBackOffEnd()
    {
        var now = Now();
        DateTime? earliest = null;
        lock (_gate)
        {
            foreach (var buffer in _buffers.Values)
            {
                if (!buffer.Locked && buffer.HasWork && buffer.NotBefore > now && (earliest is null || buffer.NotBefore < earliest))
                {
                    earliest = buffer.NotBefore;
                }
            }
        }

        return earliest;
    }

    /// <summary>The parked, unlocked buffers (they wait for their start), unparked: each is looked at once per call.</summary>
    public List<string> TakeParked()
    {
        lock (_gate)
        {
            var parked = _buffers.Where(b => b.Value.Parked && !b.Value.Locked).Select(b => b.Key).ToList();
            foreach (var instanceId in parked)
            {
                _buffers[instanceId].Parked = false;
            }

            return parked;
        }
    }

    /// <summary>Takes every message waiting for an instance (one that does not exist: its messages are orphans).</summary>
    public List<ReceivedMessage> TakePending(string instanceId)
    {
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer))
            {
                return [];
            }

            var pending = buffer.Pending;
            buffer.Pending = [];
            return pending;
        }
    }

    /// <summary>Whether an instance of the partition is locked (mid-episode).</summary>
    public bool AnyLocked(Func<string, bool> inPartition)
    {
        lock (_gate)
        {
            return _buffers.Any(b => b.Value.Locked && inPartition(b.Key));
        }
    }

    /// <summary>Drops the unlocked buffers of a partition and wakes the sessions holding its locked ones; returns the held messages and markers of the dropped buffers, to be handed back.</summary>
    public List<HeldMessage> ReleasePartition(Func<string, bool> inPartition)
    {
        List<HeldMessage> handBack = [];
        lock (_gate)
        {
            foreach (var (instanceId, buffer) in _buffers.Where(b => inPartition(b.Key)).ToList())
            {
                if (buffer.Locked)
                {
                    // Its work item, or the extended session holding it, finds the partition gone at its next check.
                    buffer.WakeSession();
                    continue;
                }

                handBack.AddRange(buffer.Pending.Where(m => m.Held is not null).Select(m => m.Held!));
                handBack.AddRange(buffer.Markers.Select(m => m.Held));
                _buffers.Remove(instanceId);
            }
        }

        return handBack;
    }

    private DateTime Now() => time.GetUtcNow().UtcDateTime;

    private InstanceBuffer BufferOf(string instanceId)
    {
        if (!_buffers.TryGetValue(instanceId, out var buffer))
        {
            buffer = new InstanceBuffer();
            _buffers[instanceId] = buffer;
        }

        return buffer;
    }

    /// <summary>Unlocks a buffer and drops it when nothing waits in it (caller holds the lock).</summary>
    private void UnlockBuffer(string instanceId, InstanceBuffer buffer)
    {
        buffer.Locked = false;
        buffer.EndSession = false;
        if (!buffer.HasWork && !buffer.Parked)
        {
            _buffers.Remove(instanceId);
        }
    }

    /// <summary>
    /// Takes the next work item's messages out of a buffer (caller holds the lock): start messages first, and at most
    /// <paramref name="limit"/> new queue messages (<see cref="RememberedIds.QueueMessageRoom"/>: at most half of
    /// <see cref="HistoryStore.RememberedMessageIds"/>, so that the sentinel remembers every one of them until at least
    /// one more full commit and a copy received again late is still recognised); the rest wait for the next episode.
    /// </summary>
    private static List<ReceivedMessage> TakeBatchLocked(InstanceBuffer buffer, RememberedIds? remembered, int limit)
    {
        var ordered = buffer.Pending.Where(m => m.Message.Event is ExecutionStarted).Concat(buffer.Pending.Where(m => m.Message.Event is not ExecutionStarted));
        var batch = new List<ReceivedMessage>(buffer.Pending.Count);
        var rest = new List<ReceivedMessage>();
        var queued = 0;
        foreach (var message in ordered)
        {
            // A message whose event the history already holds goes with every batch, whatever the limit: left behind, it
            // could outlive its id in the sentinel's remembered ids and be applied again.
            if (message.EnvelopeId is not null && remembered?.Contains(message.EnvelopeId) != true && ++queued > limit)
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

    private sealed class InstanceBuffer
    {
        public List<ReceivedMessage> Pending { get; set; } = [];

        public List<ReceivedMarker> Markers { get; set; } = [];

        public bool HasWork => Pending.Count > 0 || Markers.Count > 0 || CheckRow;

        /// <summary>The next lock compares the instance row with the sentinel (a commit's clean-up failed).</summary>
        public bool CheckRow { get; set; }

        public bool Locked { get; set; }

        public bool Parked { get; set; }

        /// <summary>The extended session holding the lock ends at its next check (its partition is to be released).</summary>
        public bool EndSession { get; set; }

        /// <summary>Completes when something arrives for the extended session waiting on this locked buffer.</summary>
        public TaskCompletionSource? SessionWaiter { get; set; }

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

        /// <summary>Wakes the extended session waiting on this buffer, if any (caller holds the lock).</summary>
        public void WakeSession()
        {
            SessionWaiter?.TrySetResult();
            SessionWaiter = null;
        }

        public void AddMarker(ReceivedMarker marker)
        {
            Markers.RemoveAll(m => m.Held.Id == marker.Held.Id);
            Markers.Add(marker);
        }
    }
}
