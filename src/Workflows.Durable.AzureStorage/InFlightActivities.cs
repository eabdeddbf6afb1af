using Workflows.Durable.History;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// What the owner of an instance's partition knows about the instance's activities whose results are not yet in
/// committed history: the ones it runs in-process (<see cref="Local"/>), the ones it spilled to the shared
/// work-item queue (<see cref="Spilled"/>), and the recovery marker (an invisible control-queue message it keeps
/// invisible while <see cref="Local"/> is not empty). Owned by <see cref="LocalActivities"/> and guarded by its lock.
/// </summary>
internal sealed class InFlightActivities(string executionId)
{
    /// <summary>The execution the task ids belong to.</summary>
    public string ExecutionId { get; } = executionId;

    /// <summary>Task ids of activities run by this worker (queued, running, or finished with the result not committed).</summary>
    public HashSet<int> Local { get; } = [];

    /// <summary>The current attempt of each queued or running in-process activity; a result of an older attempt is stale.</summary>
    public Dictionary<int, long> Attempts { get; } = [];

    /// <summary>Task ids of activities sent to the work-item queue whose results are not committed.</summary>
    public HashSet<int> Spilled { get; } = [];

    /// <summary>The recovery marker, when one exists.</summary>
    public HeldMessage? Marker { get; set; }

    /// <summary>Nothing left to track.</summary>
    public bool IsEmpty => Local.Count == 0 && Spilled.Count == 0;

    /// <summary>
    /// The activity calls of the committed history that have no committed result: the ones a new owner must run
    /// again after the old owner died. Empty once the execution has finished.
    /// </summary>
    public static List<TaskScheduled> Outstanding(IReadOnlyList<HistoryEvent> history)
    {
        var scheduled = new Dictionary<int, TaskScheduled>();
        foreach (var historyEvent in history)
        {
            switch (historyEvent)
            {
                case TaskScheduled call:
                    scheduled[call.EventId] = call;
                    break;
                case TaskCompleted completed:
                    scheduled.Remove(completed.TaskScheduledId);
                    break;
                case TaskFailed failed:
                    scheduled.Remove(failed.TaskScheduledId);
                    break;
                case ExecutionCompleted or ExecutionTerminated:
                    return [];
            }
        }

        var outstanding = new List<TaskScheduled>(scheduled.Values);
        outstanding.Sort(static (a, b) => a.EventId.CompareTo(b.EventId));
        return outstanding;
    }
}
