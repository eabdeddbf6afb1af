using Workflows.Durable.History;
using Workflows.Durable.Storage;
using Workflows.DurableTask;
using Dt = global::DurableTask.Core;
using DtHistory = global::DurableTask.Core.History;

namespace Workflows.Durable.AzureStorage.Core;

/// <summary>
/// Conversions between DurableTask.Core's history events and messages and the task hub's own records, which stay the
/// task hub's schema in storage. Every field DTFx replays with has a place in our records, so a history converts back
/// to the events DTFx recorded: same event ids, timestamps, inputs, results and failure details.
/// </summary>
/// <remarks>
/// Events that DTFx raises only as messages (ExecutionStarted, results, TimerFired, EventRaised, control events) carry
/// event id -1 there, and convert back with it. A failure event without structured <see cref="Dt.FailureDetails"/>
/// (legacy error propagation, a terminated sub-orchestration) is stored with an empty
/// <see cref="FailureDetails.ErrorType"/> and converts back without them. An event type our schema has no record for
/// fails the conversion with <see cref="NotSupportedException"/>: it is never dropped.
/// </remarks>
internal static class HistoryConversions
{
    /// <summary>Converts a DTFx history event to the task hub's record.</summary>
    /// <exception cref="NotSupportedException">The task hub's schema has no record for the event's type.</exception>
    public static HistoryEvent ToStorage(this DtHistory.HistoryEvent historyEvent)
    {
        ArgumentNullException.ThrowIfNull(historyEvent);
        var at = Utc(historyEvent.Timestamp);
        return historyEvent switch
        {
            DtHistory.OrchestratorStartedEvent => new OrchestratorStarted(at),
            DtHistory.OrchestratorCompletedEvent => new OrchestratorCompleted(at),
            DtHistory.ExecutionStartedEvent e => new ExecutionStarted(
                at,
                e.Name,
                e.OrchestrationInstance?.InstanceId ?? throw new ArgumentException("An ExecutionStarted event names no instance.", nameof(historyEvent)),
                e.OrchestrationInstance.ExecutionId ?? string.Empty,
                e.Input,
                e.ParentInstance is { } parent
                    ? new ParentInstanceInfo(
                        parent.OrchestrationInstance?.InstanceId ?? string.Empty,
                        parent.OrchestrationInstance?.ExecutionId ?? string.Empty,
                        parent.TaskScheduleId,
                        parent.Name ?? string.Empty,
                        parent.Version)
                    : null,
                e.ScheduledStartTime is { } start ? Utc(start) : null,
                e.Version,
                e.Tags is { } tags ? new Dictionary<string, string>(tags, StringComparer.Ordinal) : null),
            DtHistory.ContinueAsNewEvent e => new ExecutionCompleted(at, OrchestrationRuntimeStatus.ContinuedAsNew, e.Result),
            DtHistory.ExecutionCompletedEvent e => new ExecutionCompleted(at, e.OrchestrationStatus.ToStorage(), e.Result, e.FailureDetails.ToStorage()),
            DtHistory.ExecutionTerminatedEvent e => new ExecutionTerminated(at, e.Input),
            DtHistory.ExecutionSuspendedEvent e => new ExecutionSuspended(at, e.Reason),
            DtHistory.ExecutionResumedEvent e => new ExecutionResumed(at, e.Reason),
            DtHistory.ExecutionRewoundEvent e => new ExecutionRewound(at, e.Reason, ParentExecutionId: e.ParentExecutionId),
            DtHistory.TaskScheduledEvent e => new TaskScheduled(
                at,
                e.EventId,
                e.Name ?? string.Empty,
                e.Input,
                e.Version,
                e.Tags is { } tags ? new Dictionary<string, string>(tags, StringComparer.Ordinal) : null),
            DtHistory.TaskCompletedEvent e => new TaskCompleted(at, e.TaskScheduledId, e.Result),
            DtHistory.TaskFailedEvent e => new TaskFailed(at, e.TaskScheduledId, FailureOf(e.FailureDetails, e.Reason), e.Reason, e.Details),
            DtHistory.SubOrchestrationInstanceCreatedEvent e => new SubOrchestrationInstanceCreated(at, e.EventId, e.Name ?? string.Empty, e.InstanceId ?? string.Empty, e.Input, e.Version),
            DtHistory.SubOrchestrationInstanceCompletedEvent e => new SubOrchestrationInstanceCompleted(at, e.TaskScheduledId, e.Result),
            DtHistory.SubOrchestrationInstanceFailedEvent e => new SubOrchestrationInstanceFailed(at, e.TaskScheduledId, FailureOf(e.FailureDetails, e.Reason), e.Reason, e.Details),
            DtHistory.TimerCreatedEvent e => new TimerCreated(at, e.EventId, Utc(e.FireAt)),
            DtHistory.TimerFiredEvent e => new TimerFired(at, e.TimerId, Utc(e.FireAt)),
            DtHistory.EventRaisedEvent e => new EventRaised(at, e.Name ?? string.Empty, e.Input),
            DtHistory.EventSentEvent e => new EventSent(at, e.EventId, e.InstanceId ?? string.Empty, e.Name ?? string.Empty, e.Input),
            _ => throw new NotSupportedException(
                $"The task hub cannot store DurableTask.Core history events of type {historyEvent.EventType} ({historyEvent.GetType().Name})."),
        };
    }

    /// <summary>Converts the task hub's record to the DTFx history event it was made from.</summary>
    public static DtHistory.HistoryEvent ToCore(this HistoryEvent historyEvent)
    {
        ArgumentNullException.ThrowIfNull(historyEvent);
        DtHistory.HistoryEvent converted = historyEvent switch
        {
            OrchestratorStarted => new DtHistory.OrchestratorStartedEvent(-1),
            OrchestratorCompleted => new DtHistory.OrchestratorCompletedEvent(-1),
            ExecutionStarted e => new DtHistory.ExecutionStartedEvent(-1, e.Input)
            {
                Name = e.Name,
                Version = e.Version,
                OrchestrationInstance = new Dt.OrchestrationInstance { InstanceId = e.InstanceId, ExecutionId = e.ExecutionId },
                ParentInstance = e.ParentInstance is { } parent
                    ? new Dt.ParentInstance
                    {
                        Name = parent.Name,
                        Version = parent.Version,
                        TaskScheduleId = parent.TaskScheduledId,
                        OrchestrationInstance = new Dt.OrchestrationInstance { InstanceId = parent.InstanceId, ExecutionId = parent.ExecutionId },
                    }
                    : null,
                ScheduledStartTime = e.ScheduledStartTime,
                Tags = e.Tags is { } tags ? new Dictionary<string, string>(tags, StringComparer.Ordinal) : null,
            },
            ExecutionCompleted { Status: OrchestrationRuntimeStatus.ContinuedAsNew } e => new DtHistory.ContinueAsNewEvent(-1, e.Result),
            ExecutionCompleted e => new DtHistory.ExecutionCompletedEvent(-1, e.Result, e.Status.ToCore(), e.FailureDetails.ToCore()),
            ExecutionTerminated e => new DtHistory.ExecutionTerminatedEvent(-1, e.Reason),
            ExecutionSuspended e => new DtHistory.ExecutionSuspendedEvent(-1, e.Reason),
            ExecutionResumed e => new DtHistory.ExecutionResumedEvent(-1, e.Reason),
            ExecutionRewound e => new DtHistory.ExecutionRewoundEvent(-1, e.Reason)
            {
                ParentExecutionId = e.ParentExecutionId,

                // DTFx's dispatcher starts the rewound execution's trace span from the rewind's trace context and needs
                // one; the task hub keeps no trace contexts, so each rewind gets a fresh one.
                ParentTraceContext = TraceContexts.NewRoot(),
            },
            TaskScheduled e => new DtHistory.TaskScheduledEvent(e.EventId, e.Name, e.Version, e.Input)
            {
                Tags = e.Tags is { } tags ? new Dictionary<string, string>(tags, StringComparer.Ordinal) : null,
            },
            TaskCompleted e => new DtHistory.TaskCompletedEvent(-1, e.TaskScheduledId, e.Result),
            TaskFailed e => new DtHistory.TaskFailedEvent(-1, e.TaskScheduledId, e.Reason, e.Details, e.FailureDetails.ToCore()),
            SubOrchestrationInstanceCreated e => new DtHistory.SubOrchestrationInstanceCreatedEvent(e.EventId)
            {
                Name = e.Name,
                Version = e.Version,
                InstanceId = e.InstanceId,
                Input = e.Input,
            },
            SubOrchestrationInstanceCompleted e => new DtHistory.SubOrchestrationInstanceCompletedEvent(-1, e.TaskScheduledId, e.Result),
            SubOrchestrationInstanceFailed e => new DtHistory.SubOrchestrationInstanceFailedEvent(-1, e.TaskScheduledId, e.Reason, e.Details, e.FailureDetails.ToCore()),
            TimerCreated e => new DtHistory.TimerCreatedEvent(e.EventId, e.FireAt),
            TimerFired e => new DtHistory.TimerFiredEvent(-1, e.FireAt) { TimerId = e.TimerId },
            EventRaised e => new DtHistory.EventRaisedEvent(-1, e.Input) { Name = e.Name },
            EventSent e => new DtHistory.EventSentEvent(e.EventId) { InstanceId = e.InstanceId, Name = e.Name, Input = e.Input },
            _ => throw new NotSupportedException($"The task hub record {historyEvent.GetType().Name} has no DurableTask.Core history event."),
        };
        converted.Timestamp = Utc(historyEvent.Timestamp);
        return converted;
    }

    /// <summary>Converts a message for an orchestration instance; <paramref name="visibleAt"/> delays its delivery.</summary>
    public static OrchestrationMessage ToStorage(this Dt.TaskMessage message, DateTime? visibleAt = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var instance = message.OrchestrationInstance ?? throw new ArgumentException("A message names no instance.", nameof(message));
        ArgumentException.ThrowIfNullOrWhiteSpace(instance.InstanceId, nameof(message));
        var converted = message.Event.ToStorage();

        // A start names its execution in the event; the message targets whichever execution the instance has, so the
        // task hub treats it as a start (it may replace a finished execution), never as a message for an old one.
        var executionId = converted is ExecutionStarted || string.IsNullOrEmpty(instance.ExecutionId) ? null : instance.ExecutionId;
        return new OrchestrationMessage(instance.InstanceId, executionId, converted, visibleAt is { } at ? Utc(at) : null);
    }

    /// <summary>Converts a message back into DTFx's form.</summary>
    public static Dt.TaskMessage ToCore(this OrchestrationMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var executionId = message.Event is ExecutionStarted started ? started.ExecutionId : message.ExecutionId;
        return new Dt.TaskMessage
        {
            OrchestrationInstance = new Dt.OrchestrationInstance { InstanceId = message.InstanceId, ExecutionId = executionId },
            Event = message.Event.ToCore(),
        };
    }

    /// <summary>Converts an activity request (a TaskScheduled message) of execution <paramref name="executionId"/>.</summary>
    public static ActivityMessage ToActivityMessage(this Dt.TaskMessage message, string instanceId, string executionId)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Event is not DtHistory.TaskScheduledEvent)
        {
            throw new ArgumentException($"An activity message holds a {message.Event?.EventType} event.", nameof(message));
        }

        return new ActivityMessage(
            message.OrchestrationInstance?.InstanceId ?? instanceId,
            message.OrchestrationInstance?.ExecutionId ?? executionId,
            (TaskScheduled)message.Event.ToStorage());
    }

    /// <summary>Converts a locked activity request back into the message DTFx's activity dispatcher runs.</summary>
    public static Dt.TaskMessage ToCore(this ActivityMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new Dt.TaskMessage
        {
            OrchestrationInstance = new Dt.OrchestrationInstance { InstanceId = message.InstanceId, ExecutionId = message.ExecutionId },
            Event = message.Event.ToCore(),
        };
    }

    /// <summary>Converts failure details, inner failures included (DTFx's free-form properties are not kept).</summary>
    public static FailureDetails? ToStorage(this Dt.FailureDetails? details) => details is null
        ? null
        : new FailureDetails(details.ErrorType ?? string.Empty, details.ErrorMessage ?? string.Empty, details.StackTrace, details.InnerFailure.ToStorage(), details.IsNonRetriable);

    /// <summary>Converts failure details back; an empty error type stands for a failure without structured details.</summary>
    public static Dt.FailureDetails? ToCore(this FailureDetails? details) => details is null || details.ErrorType.Length == 0
        ? null
        : new Dt.FailureDetails(details.ErrorType, details.ErrorMessage, details.StackTrace, details.InnerFailure.ToCore(), details.IsNonRetriable);

    public static OrchestrationRuntimeStatus ToStorage(this Dt.OrchestrationStatus status) => status switch
    {
        Dt.OrchestrationStatus.Running => OrchestrationRuntimeStatus.Running,
        Dt.OrchestrationStatus.Completed => OrchestrationRuntimeStatus.Completed,
        Dt.OrchestrationStatus.ContinuedAsNew => OrchestrationRuntimeStatus.ContinuedAsNew,
        Dt.OrchestrationStatus.Failed => OrchestrationRuntimeStatus.Failed,
        Dt.OrchestrationStatus.Canceled => OrchestrationRuntimeStatus.Canceled,
        Dt.OrchestrationStatus.Terminated => OrchestrationRuntimeStatus.Terminated,
        Dt.OrchestrationStatus.Pending => OrchestrationRuntimeStatus.Pending,
        Dt.OrchestrationStatus.Suspended => OrchestrationRuntimeStatus.Suspended,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown orchestration status."),
    };

    public static Dt.OrchestrationStatus ToCore(this OrchestrationRuntimeStatus status) => status switch
    {
        OrchestrationRuntimeStatus.Running => Dt.OrchestrationStatus.Running,
        OrchestrationRuntimeStatus.Completed => Dt.OrchestrationStatus.Completed,
        OrchestrationRuntimeStatus.ContinuedAsNew => Dt.OrchestrationStatus.ContinuedAsNew,
        OrchestrationRuntimeStatus.Failed => Dt.OrchestrationStatus.Failed,
        OrchestrationRuntimeStatus.Canceled => Dt.OrchestrationStatus.Canceled,
        OrchestrationRuntimeStatus.Terminated => Dt.OrchestrationStatus.Terminated,
        OrchestrationRuntimeStatus.Pending => Dt.OrchestrationStatus.Pending,
        OrchestrationRuntimeStatus.Suspended => Dt.OrchestrationStatus.Suspended,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown orchestration status."),
    };

    /// <summary>The instance state a DTFx episode reports, as the task hub's commit writes it.</summary>
    public static InstanceStateUpdate ToStorage(this Dt.OrchestrationState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new InstanceStateUpdate(
            state.Name ?? string.Empty,
            state.OrchestrationStatus.ToStorage(),
            state.Input,
            state.Output,
            state.Status,
            state.FailureDetails.ToStorage(),
            state.ParentInstance?.OrchestrationInstance?.InstanceId,
            string.IsNullOrEmpty(state.Version) ? null : state.Version,
            state.Tags is { Count: > 0 } tags ? new Dictionary<string, string>(tags, StringComparer.Ordinal) : null);
    }

    /// <summary>The task hub's view of an instance as DTFx's client types show it.</summary>
    public static Dt.OrchestrationState ToCore(this OrchestrationMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var lastUpdated = metadata.LastUpdatedAt.UtcDateTime;
        return new Dt.OrchestrationState
        {
            OrchestrationInstance = new Dt.OrchestrationInstance { InstanceId = metadata.InstanceId, ExecutionId = metadata.ExecutionId },
            Name = metadata.Name,
            Version = metadata.Version ?? string.Empty,
            Tags = metadata.Tags is { } tags ? new Dictionary<string, string>(tags, StringComparer.Ordinal) : null,
            Input = metadata.SerializedInput,
            Output = metadata.SerializedOutput,
            Status = metadata.SerializedCustomStatus,
            OrchestrationStatus = metadata.RuntimeStatus.ToCore(),
            CreatedTime = metadata.CreatedAt.UtcDateTime,
            LastUpdatedTime = lastUpdated,
            CompletedTime = metadata.RuntimeStatus.IsTerminal() ? lastUpdated : DateTime.MinValue,
            ScheduledStartTime = metadata.ScheduledStartTime?.UtcDateTime,
            FailureDetails = metadata.FailureDetails.ToCore(),
            ParentInstance = metadata.ParentInstanceId is { Length: > 0 } parent
                ? new Dt.ParentInstance { OrchestrationInstance = new Dt.OrchestrationInstance { InstanceId = parent } }
                : null,
        };
    }

    private static FailureDetails FailureOf(Dt.FailureDetails? details, string? reason) =>
        details.ToStorage() ?? new FailureDetails(string.Empty, reason ?? string.Empty);

    private static DateTime Utc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Utc => value,
        DateTimeKind.Local => value.ToUniversalTime(),
        _ => DateTime.SpecifyKind(value, DateTimeKind.Utc),
    };
}
