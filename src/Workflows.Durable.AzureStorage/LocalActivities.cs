using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>An activity to run: from the work-item queue, or (Held null) an in-process one of an owned instance.</summary>
internal sealed record ReceivedActivity(ActivityMessage Message, HeldMessage? Held, int DequeueCount, long Attempt = 0);

/// <summary>The lock state of an in-process activity work item: the call and its attempt.</summary>
internal sealed record LocalActivityLock(ActivityMessage Message, long Attempt);

/// <summary>The lock state of an activity work item from the work-item queue: its held request.</summary>
internal sealed record ActivityLock(HeldMessage Held);

/// <summary>
/// One commit's activity decisions: outstanding in-process (<paramref name="Local"/>) and spilled task ids after
/// the commit, the new calls that run here and the ones that go to the work-item queue, the current marker.
/// </summary>
internal sealed record ActivityPlan(HashSet<int> Local, HashSet<int> Spilled, List<ActivityMessage> RunHere, List<ActivityMessage> ToSpill, HeldMessage? Marker)
{
    /// <summary>After the commit, in-process calls of the instance are outstanding: it needs a recovery marker.</summary>
    public bool NeedsMarker => Local.Count > 0;
}

/// <summary>What a recovery decided: the calls that fail instead of running again, and the markers no longer needed.</summary>
internal sealed record ActivityRecovery(List<TaskScheduled> ToFail, List<ReceivedMarker> Discard);

/// <summary>
/// In-process activity delivery: the queue of activity work items this worker hands out (in-process calls of owned
/// instances and requests received from the work-item queue), and per instance what it knows about the calls whose
/// results are not committed yet (<see cref="InFlightActivities"/>). The only owner of both: every access takes its
/// lock. An in-process result goes straight into the instance's buffer (<see cref="InstanceBuffers"/>, whose lock is
/// taken inside this one, never the other way round).
/// </summary>
internal sealed class LocalActivities(InstanceBuffers buffers, Func<string, bool> owns, Action<string> requireOwnership, int maxLocalActivityBacklog)
{
    private readonly Lock _gate = new();
    private readonly Queue<ReceivedActivity> _ready = new();
    private readonly Dictionary<string, InFlightActivities> _inFlight = new(StringComparer.Ordinal);
    private readonly WakeUp _changed = new();
    private long _nextAttempt;

    /// <summary>The task id an activity result answers, or null for any other event.</summary>
    public static int? ResultFor(HistoryEvent historyEvent) => historyEvent switch
    {
        TaskCompleted completed => completed.TaskScheduledId,
        TaskFailed failed => failed.TaskScheduledId,
        _ => null,
    };

    /// <summary>The next activity to hand out, if any; <paramref name="changed"/> completes when another may be there.</summary>
    public ReceivedActivity? TryDequeue(out Task changed)
    {
        lock (_gate)
        {
            _ready.TryDequeue(out var ready);
            changed = _changed.Next;
            return ready;
        }
    }

    /// <summary>Wakes the dispatchers waiting for an activity.</summary>
    public void Signal() => _changed.Fire();

    /// <summary>Queues a request received from the work-item queue (the receiver signals once per batch).</summary>
    public void EnqueueReceived(ReceivedActivity activity)
    {
        lock (_gate)
        {
            _ready.Enqueue(activity);
        }
    }

    /// <summary>
    /// Decides, for one commit, which new activities run in this process and which are spilled to the shared
    /// work-item queue (only while <paramref name="othersAlive"/> and the local backlog is long), and which activities
    /// of the instance will still be outstanding after the commit.
    /// </summary>
    public ActivityPlan Plan(string instanceId, IReadOnlyList<ReceivedMessage> processed, OrchestrationCommit commit, bool othersAlive)
    {
        lock (_gate)
        {
            _inFlight.TryGetValue(instanceId, out var entry);
            var sameExecution = entry is not null && entry.ExecutionId == commit.ExecutionId && !commit.ReplaceHistory;
            var local = sameExecution ? new HashSet<int>(entry!.Local) : [];
            var spilled = sameExecution ? new HashSet<int>(entry!.Spilled) : [];
            foreach (var received in processed)
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

            var backlog = _ready.Count;
            List<ActivityMessage> runHere = [];
            List<ActivityMessage> toSpill = [];
            foreach (var activity in commit.ActivityMessages)
            {
                if (othersAlive && backlog >= maxLocalActivityBacklog)
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

    /// <summary>After the commit point: records what is outstanding and queues the activities that run here.</summary>
    public void Start(string instanceId, string executionId, ActivityPlan plan, HeldMessage? marker)
    {
        lock (_gate)
        {
            if (!owns(instanceId) || (plan.Local.Count == 0 && plan.Spilled.Count == 0))
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
            Signal();
        }
    }

    /// <summary>An in-process activity finished: its result goes straight into the instance's buffer, no queue involved.</summary>
    public void DeliverResult(LocalActivityLock local, OrchestrationMessage result)
    {
        var activity = local.Message;
        lock (_gate)
        {
            requireOwnership(activity.InstanceId);
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
            buffers.Add(activity.InstanceId, new ReceivedMessage(null, 1, null, result));
        }

        buffers.Signal();
    }

    /// <summary>An in-process activity given back: it is queued again under a new attempt (the given-back one is stale).</summary>
    public void Abandon(LocalActivityLock local, int dequeueCount)
    {
        lock (_gate)
        {
            if (!IsCurrentAttempt(local))
            {
                throw new WorkItemLockLostException("The in-process activity was already released or is no longer needed.");
            }

            EnqueueLocal(local.Message, dequeueCount);
        }

        Signal();
    }

    /// <summary>
    /// A recovery marker of the instance was received: every call of committed history in <paramref name="outstanding"/>
    /// that is neither answered in the same work item (<paramref name="resolved"/>), nor running here, nor spilled, runs
    /// again here, or, when the marker was <paramref name="poisoned"/> (recovered too often), is returned to fail. The
    /// first marker that is this worker's own (or any, when it has none) is adopted while calls are outstanding; the
    /// others are returned to be deleted.
    /// </summary>
    public ActivityRecovery Recover(string instanceId, string executionId, IReadOnlyList<TaskScheduled> outstanding, HashSet<int> resolved, HashSet<int> spilled, bool poisoned, List<ReceivedMarker> markers)
    {
        List<TaskScheduled> toFail = [];
        List<ReceivedMarker> discard = [];
        HeldMessage? adopted = null;
        var rerun = 0;
        lock (_gate)
        {
            if (!_inFlight.TryGetValue(instanceId, out var entry) || entry.ExecutionId != executionId)
            {
                entry = new InFlightActivities(executionId);
                _inFlight[instanceId] = entry;
            }

            foreach (var call in outstanding)
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
                    toFail.Add(call);
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
            Signal();
        }

        return new ActivityRecovery(toFail, discard);
    }

    /// <summary>Forgets what this worker knew about the instance's calls; returns its recovery marker, if it had one.</summary>
    public HeldMessage? Forget(string instanceId)
    {
        lock (_gate)
        {
            return _inFlight.Remove(instanceId, out var entry) ? entry.Marker : null;
        }
    }

    /// <summary>
    /// A released partition: its queued in-process calls are dropped (the new owner recovers them) and what this worker
    /// knew about its instances' calls is forgotten. Returns the forgotten instances with their recovery markers.
    /// </summary>
    public List<(string InstanceId, HeldMessage? Marker)> ReleasePartition(Func<string, bool> inPartition)
    {
        lock (_gate)
        {
            var keep = _ready.Where(a => a.Held is not null || !inPartition(a.Message.InstanceId)).ToList();
            _ready.Clear();
            keep.ForEach(_ready.Enqueue);
            var forgotten = _inFlight.Where(e => inPartition(e.Key)).Select(e => (e.Key, e.Value.Marker)).ToList();
            foreach (var (instanceId, _) in forgotten)
            {
                _inFlight.Remove(instanceId);
            }

            return forgotten;
        }
    }

    /// <summary>Queues an in-process activity under a new attempt number (caller holds the lock).</summary>
    private void EnqueueLocal(ActivityMessage activity, int dequeueCount)
    {
        var attempt = ++_nextAttempt;
        if (_inFlight.TryGetValue(activity.InstanceId, out var entry))
        {
            entry.Attempts[activity.Event.EventId] = attempt;
        }

        _ready.Enqueue(new ReceivedActivity(activity, null, dequeueCount, attempt));
    }

    private bool IsCurrentAttempt(LocalActivityLock local) =>
        _inFlight.TryGetValue(local.Message.InstanceId, out var entry)
        && entry.ExecutionId == local.Message.ExecutionId
        && entry.Attempts.TryGetValue(local.Message.Event.EventId, out var attempt)
        && attempt == local.Attempt;
}
