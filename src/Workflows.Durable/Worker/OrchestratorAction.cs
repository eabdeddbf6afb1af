using Workflows.Durable.History;

namespace Workflows.Durable.Worker;

/// <summary>A durable call made by orchestrator code; <see cref="Id"/> is its sequence number, matched against history.</summary>
internal abstract record OrchestratorAction(int Id)
{
    /// <summary>Describes the action for non-determinism messages.</summary>
    public abstract string Describe();

    /// <summary>The history event that records this action.</summary>
    public abstract HistoryEvent ToHistoryEvent(DateTime timestamp);
}

internal sealed record ScheduleTaskAction(int Id, string Name, string? Input) : OrchestratorAction(Id)
{
    public override string Describe() => $"CallActivity '{Name}'";

    public override HistoryEvent ToHistoryEvent(DateTime timestamp) => new TaskScheduled(timestamp, Id, Name, Input);
}

internal sealed record CreateTimerAction(int Id, DateTime FireAt) : OrchestratorAction(Id)
{
    public override string Describe() => $"CreateTimer at {FireAt:O}";

    public override HistoryEvent ToHistoryEvent(DateTime timestamp) => new TimerCreated(timestamp, Id, FireAt);
}

internal sealed record CreateSubOrchestrationAction(int Id, string Name, string InstanceId, string? Input) : OrchestratorAction(Id)
{
    public override string Describe() => $"CallSubOrchestrator '{Name}' (instance '{InstanceId}')";

    public override HistoryEvent ToHistoryEvent(DateTime timestamp) =>
        new SubOrchestrationInstanceCreated(timestamp, Id, Name, InstanceId, Input);
}

internal sealed record SendEventAction(int Id, string InstanceId, string Name, string? Input) : OrchestratorAction(Id)
{
    public override string Describe() => $"SendEvent '{Name}' to '{InstanceId}'";

    public override HistoryEvent ToHistoryEvent(DateTime timestamp) => new EventSent(timestamp, Id, InstanceId, Name, Input);
}

/// <summary>How an execution ended.</summary>
internal sealed record OrchestrationCompletion(
    OrchestrationRuntimeStatus Status,
    string? Output,
    FailureDetails? Failure,
    string? NewInput = null,
    IReadOnlyList<EventRaised>? CarryoverEvents = null,
    bool PreserveUnprocessedEvents = false)
{
    public bool ContinuedAsNew => Status == OrchestrationRuntimeStatus.ContinuedAsNew;
}

/// <summary>What one episode produced: new durable calls in id order, and the completion if the orchestration ended.</summary>
internal sealed record EpisodeResult(IReadOnlyList<OrchestratorAction> NewActions, OrchestrationCompletion? Completion);
