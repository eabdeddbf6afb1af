using Microsoft.Extensions.Logging;

namespace Workflows.Host.Rpc;

/// <summary>The worker channel's log messages. App setting values never appear in them.</summary>
internal static partial class WorkerChannelLog
{
    [LoggerMessage(101, LogLevel.Information, "Starting the worker of {AppDirectory}: {Command} (worker id {WorkerId})")]
    public static partial void Starting(ILogger logger, string appDirectory, string command, string workerId);

    [LoggerMessage(102, LogLevel.Information, "Worker process {ProcessId} is ready: {FunctionCount} functions loaded")]
    public static partial void Ready(ILogger logger, int processId, int functionCount);

    [LoggerMessage(103, LogLevel.Information, "[worker {ProcessId}] {Line}")]
    public static partial void WorkerStandardOutput(ILogger logger, int processId, string line);

    [LoggerMessage(104, LogLevel.Warning, "[worker {ProcessId} stderr] {Line}")]
    public static partial void WorkerStandardError(ILogger logger, int processId, string line);

    [LoggerMessage(EventId = 105, Message = "{Message}{Exception}")]
    public static partial void WorkerLog(ILogger logger, LogLevel level, string message, string exception);

    [LoggerMessage(106, LogLevel.Warning, "Worker process {ProcessId} is gone: {Reason}")]
    public static partial void WorkerGone(ILogger logger, int processId, string reason);

    [LoggerMessage(107, LogLevel.Information, "Restarting the worker in {Delay} (attempt {Attempt})")]
    public static partial void Restarting(ILogger logger, TimeSpan delay, int attempt);

    [LoggerMessage(108, LogLevel.Error, "The worker could not be restarted")]
    public static partial void RestartFailed(ILogger logger, Exception exception);

    [LoggerMessage(109, LogLevel.Warning, "A worker stream opened for unknown worker id {WorkerId}; closing it")]
    public static partial void UnknownWorker(ILogger logger, string workerId);

    [LoggerMessage(110, LogLevel.Warning, "Worker process {ProcessId} did not stop within {GracePeriod} of WorkerTerminate; killing it")]
    public static partial void StopTimedOut(ILogger logger, int processId, TimeSpan gracePeriod);

    [LoggerMessage(111, LogLevel.Warning, "Worker process {ProcessId} could not be killed")]
    public static partial void KillFailed(ILogger logger, int processId, Exception exception);

    [LoggerMessage(113, LogLevel.Information, "Worker process {ProcessId} stopped: {Reason}")]
    public static partial void WorkerStopped(ILogger logger, int processId, string reason);

    [LoggerMessage(112, LogLevel.Debug, "Worker sent {MessageType}, which the host does not use")]
    public static partial void Ignored(ILogger logger, string messageType);

    [LoggerMessage(114, LogLevel.Warning, "Stopped worker process {ProcessId}, left running by host process {HostProcessId}, which is gone")]
    public static partial void OrphanStopped(ILogger logger, int processId, int hostProcessId);

    [LoggerMessage(115, LogLevel.Warning, "Could not write down the worker process in {Folder}: {Reason}")]
    public static partial void WorkerRecordFailed(ILogger logger, string folder, string reason);
}
