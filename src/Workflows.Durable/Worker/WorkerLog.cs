using Microsoft.Extensions.Logging;

namespace Workflows.Durable.Worker;

/// <summary>Source-generated log messages of the worker. Payloads (inputs, outputs) are never logged.</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "Instance {InstanceId}: ignored {EventType} for task {TaskId}; nothing awaits it (duplicate delivery or cancelled wait).")]
    public static partial void IgnoredEvent(ILogger logger, string instanceId, string eventType, int taskId);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Instance {InstanceId} ({Name}) failed: {Reason}")]
    public static partial void OrchestratorFailed(ILogger logger, string instanceId, string name, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Worker started: {Orchestrators} orchestrators, {Activities} activities, concurrency {OrchestrationConcurrency}/{ActivityConcurrency}.")]
    public static partial void WorkerStarted(ILogger logger, int orchestrators, int activities, int orchestrationConcurrency, int activityConcurrency);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Worker stopped.")]
    public static partial void WorkerStopped(ILogger logger);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Instance {InstanceId}: the work item's lock was lost; it will be retried by its new owner.")]
    public static partial void LockLost(ILogger logger, string instanceId);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "Instance {InstanceId}: processing the work item failed; it was abandoned and will be retried.")]
    public static partial void OrchestrationWorkItemError(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "Activity {Name} of instance {InstanceId}: the work item could not be completed; it will be retried.")]
    public static partial void ActivityWorkItemError(ILogger logger, string name, string instanceId, Exception exception);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Instance {InstanceId}: dropped {Count} message(s) for a finished or different execution.")]
    public static partial void DroppedMessages(ILogger logger, string instanceId, int count);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "Instance {InstanceId}: rejected a start request because the instance is already running.")]
    public static partial void RejectedDuplicateStart(ILogger logger, string instanceId);

    [LoggerMessage(EventId = 109, Level = LogLevel.Error, Message = "Dispatcher loop error; retrying.")]
    public static partial void DispatcherError(ILogger logger, Exception exception);
}
