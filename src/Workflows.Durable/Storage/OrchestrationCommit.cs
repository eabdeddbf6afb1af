using Workflows.Durable.History;

namespace Workflows.Durable.Storage;

/// <summary>
/// Everything one orchestration episode produced. A provider applies it all-or-nothing with respect to what
/// readers of history can observe (see <see cref="IStorageProvider"/> for the exact invariants).
/// </summary>
public sealed class OrchestrationCommit
{
    /// <summary>The execution the history below belongs to (new after ContinueAsNew).</summary>
    public required string ExecutionId { get; init; }

    /// <summary>
    /// False: append <see cref="NewEvents"/> to the committed history. True: the history becomes exactly
    /// <see cref="NewEvents"/> (ContinueAsNew starts an empty history; rewind rewrites it).
    /// </summary>
    public bool ReplaceHistory { get; init; }

    /// <summary>Events to append (or the whole new history when <see cref="ReplaceHistory"/> is set).</summary>
    public required IReadOnlyList<HistoryEvent> NewEvents { get; init; }

    /// <summary>The instance's state after this episode, or null when the episode only discarded messages.</summary>
    public required InstanceStateUpdate? State { get; init; }

    /// <summary>Activities to run.</summary>
    public IReadOnlyList<ActivityMessage> ActivityMessages { get; init; } = [];

    /// <summary>Messages for orchestration instances (this one included): timers, events, sub-orchestration starts, completions to parents.</summary>
    public IReadOnlyList<OrchestrationMessage> OrchestrationMessages { get; init; } = [];
}

/// <summary>The instance state a commit writes.</summary>
/// <param name="Name">Orchestrator name.</param>
/// <param name="Status">Runtime status after the episode.</param>
/// <param name="Input">Serialized input of the current execution.</param>
/// <param name="Output">Serialized output (or termination reason) once finished.</param>
/// <param name="CustomStatus">Serialized custom status.</param>
/// <param name="FailureDetails">Failure, when <paramref name="Status"/> is Failed.</param>
/// <param name="ParentInstanceId">Parent instance of a sub-orchestration.</param>
/// <param name="Version">The orchestration version the current execution was started with, if any.</param>
/// <param name="Tags">The tags the current execution was started with, if any.</param>
public sealed record InstanceStateUpdate(
    string Name,
    OrchestrationRuntimeStatus Status,
    string? Input,
    string? Output,
    string? CustomStatus,
    FailureDetails? FailureDetails,
    string? ParentInstanceId,
    string? Version = null,
    IReadOnlyDictionary<string, string>? Tags = null);
