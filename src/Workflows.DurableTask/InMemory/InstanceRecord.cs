using DurableTask.Core;
using DurableTask.Core.History;

namespace Workflows.DurableTask.InMemory;

/// <summary>
/// One orchestration instance in the in-memory store: its committed history and status, its inbox, and its session
/// lock. Every field is read and written under the service's lock.
/// </summary>
internal sealed class InstanceRecord(string instanceId)
{
    public string InstanceId { get; } = instanceId;

    /// <summary>The committed history of the current execution, or <see langword="null"/> before its first episode.</summary>
    public List<HistoryEvent>? History { get; set; }

    /// <summary>The execution id of <see cref="History"/>.</summary>
    public string? HistoryExecutionId { get; set; }

    /// <summary>The status of <see cref="History"/> (the execution that ran), not of a start that is waiting.</summary>
    public OrchestrationStatus HistoryStatus { get; set; }

    /// <summary>What clients see: the latest execution, including one created and not yet started.</summary>
    public OrchestrationState? State { get; set; }

    /// <summary>The execution a terminate reached before it started: its start, when it comes, is dropped.</summary>
    public string? TerminatedBeforeStart { get; set; }

    /// <summary>Messages that arrived and wait for the next episode.</summary>
    public List<TaskMessage> Inbox { get; } = [];

    /// <summary>The work item that holds this instance's session lock, or <see langword="null"/> when free.</summary>
    public TaskOrchestrationWorkItem? LockedBy { get; set; }

    /// <summary>Whether the instance sits in the ready queue.</summary>
    public bool Queued { get; set; }

    /// <summary>No work item is handed out for this instance before this time (after an abandon).</summary>
    public DateTime NotBefore { get; set; }

    /// <summary>An extended session of the lock holder waiting for new messages, if any.</summary>
    public TaskCompletionSource<bool>? SessionWaiter { get; set; }

    /// <summary>Clients waiting for the instance to finish.</summary>
    public List<CompletionWaiter> Waiters { get; } = [];

    /// <summary>Whether the record holds nothing worth keeping.</summary>
    public bool IsEmpty => History is null && State is null && Inbox.Count == 0 && LockedBy is null && Waiters.Count == 0;
}

/// <summary>A client waiting for an instance (or one execution of it) to reach a terminal status.</summary>
internal sealed record CompletionWaiter(string? ExecutionId, TaskCompletionSource<OrchestrationState?> Completion);
