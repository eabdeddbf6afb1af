using System.Text.Json.Serialization;

namespace Workflows.Durable.History;

/// <summary>
/// One entry of an orchestration's append-only history. The history is the orchestration's whole state:
/// replaying the orchestrator over it reproduces where the code stands. Serialized as JSON with an
/// <c>eventType</c> discriminator (see <see cref="HistorySerializer"/>).
/// </summary>
/// <param name="Timestamp">UTC time at which the event was recorded.</param>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "eventType")]
[JsonDerivedType(typeof(OrchestratorStarted), nameof(OrchestratorStarted))]
[JsonDerivedType(typeof(OrchestratorCompleted), nameof(OrchestratorCompleted))]
[JsonDerivedType(typeof(ExecutionStarted), nameof(ExecutionStarted))]
[JsonDerivedType(typeof(ExecutionCompleted), nameof(ExecutionCompleted))]
[JsonDerivedType(typeof(ExecutionTerminated), nameof(ExecutionTerminated))]
[JsonDerivedType(typeof(ExecutionSuspended), nameof(ExecutionSuspended))]
[JsonDerivedType(typeof(ExecutionResumed), nameof(ExecutionResumed))]
[JsonDerivedType(typeof(ExecutionRewound), nameof(ExecutionRewound))]
[JsonDerivedType(typeof(TaskScheduled), nameof(TaskScheduled))]
[JsonDerivedType(typeof(TaskCompleted), nameof(TaskCompleted))]
[JsonDerivedType(typeof(TaskFailed), nameof(TaskFailed))]
[JsonDerivedType(typeof(SubOrchestrationInstanceCreated), nameof(SubOrchestrationInstanceCreated))]
[JsonDerivedType(typeof(SubOrchestrationInstanceCompleted), nameof(SubOrchestrationInstanceCompleted))]
[JsonDerivedType(typeof(SubOrchestrationInstanceFailed), nameof(SubOrchestrationInstanceFailed))]
[JsonDerivedType(typeof(TimerCreated), nameof(TimerCreated))]
[JsonDerivedType(typeof(TimerFired), nameof(TimerFired))]
[JsonDerivedType(typeof(EventRaised), nameof(EventRaised))]
[JsonDerivedType(typeof(EventSent), nameof(EventSent))]
public abstract record HistoryEvent(DateTime Timestamp);

/// <summary>Starts an episode: one run of the orchestrator over newly arrived events. Its timestamp is <c>CurrentUtcDateTime</c>.</summary>
public sealed record OrchestratorStarted(DateTime Timestamp) : HistoryEvent(Timestamp);

/// <summary>Ends an episode.</summary>
public sealed record OrchestratorCompleted(DateTime Timestamp) : HistoryEvent(Timestamp);

/// <summary>First event of an execution: which orchestrator runs, with what input.</summary>
/// <remarks><paramref name="Version"/> and <paramref name="Tags"/> are kept for Durable Task Framework orchestrations, which replay with them.</remarks>
public sealed record ExecutionStarted(
    DateTime Timestamp,
    string Name,
    string InstanceId,
    string ExecutionId,
    string? Input,
    ParentInstanceInfo? ParentInstance = null,
    DateTime? ScheduledStartTime = null,
    string? Version = null,
    IReadOnlyDictionary<string, string>? Tags = null) : HistoryEvent(Timestamp);

/// <summary>Last event of an execution: its final status and output or failure.</summary>
public sealed record ExecutionCompleted(
    DateTime Timestamp,
    OrchestrationRuntimeStatus Status,
    string? Result,
    FailureDetails? FailureDetails = null) : HistoryEvent(Timestamp);

/// <summary>A client terminated the instance; <paramref name="Reason"/> becomes its output.</summary>
public sealed record ExecutionTerminated(DateTime Timestamp, string? Reason, bool Recursive = false) : HistoryEvent(Timestamp);

/// <summary>A client suspended the instance: later events wait until it is resumed.</summary>
public sealed record ExecutionSuspended(DateTime Timestamp, string? Reason) : HistoryEvent(Timestamp);

/// <summary>A client resumed a suspended instance.</summary>
public sealed record ExecutionResumed(DateTime Timestamp, string? Reason) : HistoryEvent(Timestamp);

/// <summary>
/// A client rewound a failed instance: failed work is retried from the point of first failure.
/// <paramref name="NextEventId"/>, set when the rewind is applied, is the first id later durable calls may use,
/// so they never collide with calls made before the rewind whose results may still arrive.
/// <paramref name="ParentExecutionId"/>, on the rewind a rewound parent sends its failed sub-orchestration, is the
/// parent's new execution, which the child reports back to.
/// </summary>
public sealed record ExecutionRewound(DateTime Timestamp, string? Reason, int? NextEventId = null, string? ParentExecutionId = null) : HistoryEvent(Timestamp);

/// <summary>The orchestrator scheduled activity <paramref name="Name"/>; <paramref name="EventId"/> is its task id.</summary>
/// <remarks><paramref name="Version"/> and <paramref name="Tags"/> are kept for Durable Task Framework orchestrations.</remarks>
public sealed record TaskScheduled(
    DateTime Timestamp,
    int EventId,
    string Name,
    string? Input,
    string? Version = null,
    IReadOnlyDictionary<string, string>? Tags = null) : HistoryEvent(Timestamp);

/// <summary>Activity <paramref name="TaskScheduledId"/> returned <paramref name="Result"/>.</summary>
public sealed record TaskCompleted(DateTime Timestamp, int TaskScheduledId, string? Result) : HistoryEvent(Timestamp);

/// <summary>Activity <paramref name="TaskScheduledId"/> threw.</summary>
/// <remarks>
/// <paramref name="Reason"/> and <paramref name="Details"/> are the unstructured failure of Durable Task Framework
/// orchestrations; a failure that came without structured details has an empty <see cref="FailureDetails.ErrorType"/>.
/// </remarks>
public sealed record TaskFailed(
    DateTime Timestamp,
    int TaskScheduledId,
    FailureDetails FailureDetails,
    string? Reason = null,
    string? Details = null) : HistoryEvent(Timestamp);

/// <summary>The orchestrator started sub-orchestration <paramref name="InstanceId"/>.</summary>
public sealed record SubOrchestrationInstanceCreated(
    DateTime Timestamp,
    int EventId,
    string Name,
    string InstanceId,
    string? Input,
    string? Version = null) : HistoryEvent(Timestamp);

/// <summary>Sub-orchestration <paramref name="TaskScheduledId"/> completed.</summary>
public sealed record SubOrchestrationInstanceCompleted(DateTime Timestamp, int TaskScheduledId, string? Result) : HistoryEvent(Timestamp);

/// <summary>Sub-orchestration <paramref name="TaskScheduledId"/> failed.</summary>
/// <remarks>As for <see cref="TaskFailed"/>: <paramref name="Reason"/> and <paramref name="Details"/> keep a Durable Task Framework failure's unstructured form.</remarks>
public sealed record SubOrchestrationInstanceFailed(
    DateTime Timestamp,
    int TaskScheduledId,
    FailureDetails FailureDetails,
    string? Reason = null,
    string? Details = null) : HistoryEvent(Timestamp);

/// <summary>The orchestrator created a durable timer due at <paramref name="FireAt"/>.</summary>
public sealed record TimerCreated(DateTime Timestamp, int EventId, DateTime FireAt) : HistoryEvent(Timestamp);

/// <summary>Durable timer <paramref name="TimerId"/> fired.</summary>
public sealed record TimerFired(DateTime Timestamp, int TimerId, DateTime FireAt) : HistoryEvent(Timestamp);

/// <summary>External event <paramref name="Name"/> arrived.</summary>
public sealed record EventRaised(DateTime Timestamp, string Name, string? Input) : HistoryEvent(Timestamp);

/// <summary>The orchestrator sent event <paramref name="Name"/> to instance <paramref name="InstanceId"/>.</summary>
public sealed record EventSent(DateTime Timestamp, int EventId, string InstanceId, string Name, string? Input) : HistoryEvent(Timestamp);
