using Microsoft.Extensions.Logging;

namespace Workflows.Host.Diagnostics;

/// <summary>The host's log messages (source-generated).</summary>
internal static partial class HostLog
{
    [LoggerMessage(1, LogLevel.Warning, "{Warning}")]
    public static partial void ConfigurationWarning(ILogger logger, string warning);

    [LoggerMessage(2, LogLevel.Information, "No storage emulator on 127.0.0.1:{Port}: starting Azurite with data in {Location} (its log: {Log}); it keeps running if this host is killed, and stops when the host stops cleanly")]
    public static partial void StartingAzurite(ILogger logger, int port, string location, string log);

    [LoggerMessage(14, LogLevel.Information, "Azurite with data in {Location} is still running from a host that did not stop cleanly: this host uses it and stops it when it stops cleanly")]
    public static partial void AdoptedAzurite(ILogger logger, string location);

    [LoggerMessage(3, LogLevel.Information, "Task hub {HubName} on {Storage}: {Orchestrators} orchestrators, {Activities} activities")]
    public static partial void TaskHubStarted(ILogger logger, string hubName, string storage, int orchestrators, int activities);

    [LoggerMessage(4, LogLevel.Error, "Function {FunctionName} failed; error id {ErrorId}")]
    public static partial void FunctionFailed(ILogger logger, Exception exception, string functionName, string errorId);

    [LoggerMessage(5, LogLevel.Information, "Stopped Azurite")]
    public static partial void StoppedAzurite(ILogger logger);

    [LoggerMessage(6, LogLevel.Error, "Request {Method} {Path} failed; error id {ErrorId}")]
    public static partial void RequestFailed(ILogger logger, Exception exception, string method, string path, string errorId);

    [LoggerMessage(7, LogLevel.Information, "Timer {FunctionName} fired for {ScheduledTime:O} (past due: {IsPastDue})")]
    public static partial void TimerFired(ILogger logger, string functionName, DateTimeOffset scheduledTime, bool isPastDue);

    [LoggerMessage(8, LogLevel.Information, "This host now runs timer {FunctionName}; next occurrence {Next:O}")]
    public static partial void TimerLeaseAcquired(ILogger logger, string functionName, DateTimeOffset next);

    [LoggerMessage(9, LogLevel.Warning, "Timer {FunctionName}: lost its singleton lease; another host runs it now")]
    public static partial void TimerLeaseLost(ILogger logger, string functionName);

    [LoggerMessage(10, LogLevel.Warning, "Timer {FunctionName}: storage call failed; retrying")]
    public static partial void TimerStorageFailed(ILogger logger, Exception exception, string functionName);

    [LoggerMessage(15, LogLevel.Information, "Durable Task gRPC endpoint (sidecar) on {Address}: Durable Task SDK clients and workers connect here")]
    public static partial void SidecarListening(ILogger logger, string address);

    [LoggerMessage(16, LogLevel.Information, "Retention purged {Count} instances: {Policy} (created before {Cutoff:O})")]
    public static partial void RetentionPurged(ILogger logger, int count, string policy, DateTimeOffset cutoff);

    [LoggerMessage(17, LogLevel.Warning, "Retention run failed; the next run goes on from what is left")]
    public static partial void RetentionFailed(ILogger logger, Exception exception);

    [LoggerMessage(18, LogLevel.Information, "Retention left {InstanceId}: {Reason}")]
    public static partial void RetentionSkipped(ILogger logger, string instanceId, string reason);
}
