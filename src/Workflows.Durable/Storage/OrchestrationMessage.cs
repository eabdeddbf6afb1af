using Workflows.Durable.History;

namespace Workflows.Durable.Storage;

/// <summary>
/// A message for an orchestration instance: a history event that becomes part of the instance's history when
/// a work item processes it (ExecutionStarted, TaskCompleted, TimerFired, EventRaised, ExecutionTerminated...).
/// </summary>
/// <param name="InstanceId">Target instance.</param>
/// <param name="ExecutionId">Target execution, or null for whichever execution is current. Messages for another execution are dropped.</param>
/// <param name="Event">The event delivered.</param>
/// <param name="VisibleAt">The message must not be delivered before this UTC time (durable timers, scheduled starts).</param>
public sealed record OrchestrationMessage(string InstanceId, string? ExecutionId, HistoryEvent Event, DateTime? VisibleAt = null);

/// <summary>A request to run an activity, with the TaskScheduled event that recorded it.</summary>
/// <param name="InstanceId">Orchestration instance that scheduled it.</param>
/// <param name="ExecutionId">Execution that scheduled it; the result is delivered to that execution only.</param>
/// <param name="Event">The TaskScheduled event (name, input, task id).</param>
public sealed record ActivityMessage(string InstanceId, string ExecutionId, TaskScheduled Event)
{
    /// <summary>
    /// Stable across re-deliveries of this activity call (activities are at-least-once): use it to make an
    /// activity's side effects idempotent.
    /// </summary>
    public string IdempotencyKey => $"{InstanceId}/{ExecutionId}/{Event.EventId}";
}
