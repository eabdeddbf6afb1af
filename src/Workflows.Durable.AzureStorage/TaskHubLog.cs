using Microsoft.Extensions.Logging;

namespace Workflows.Durable.AzureStorage;

/// <summary>What the Azure Storage task hub tells its operator: whose leases it waits for, what it took over.</summary>
internal static partial class TaskHubLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Task hub worker {WorkerId} owns partitions [{Partitions}] of {PartitionCount}.")]
    public static partial void OwnedPartitions(ILogger logger, string workerId, string partitions, int partitionCount);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Partition {Partition} is leased by worker {Owner}; it is taken over if that worker stops renewing (at most {LeaseSeconds} s).")]
    public static partial void WaitingForLease(ILogger logger, int partition, string owner, double leaseSeconds);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "Took partition {Partition} back from this worker's previous run; messages that run held show again within {VisibilitySeconds} s.")]
    public static partial void TookBackPartition(ILogger logger, int partition, double visibilitySeconds);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Lost the lease of partition {Partition}: {Reason}")]
    public static partial void LostLease(ILogger logger, int partition, string reason);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "A lease round failed (storage did not answer); the next round retries: {Reason}")]
    public static partial void LeaseRoundFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 305, Level = LogLevel.Warning, Message = "Instance {InstanceId}: an episode was committed but its clean-up failed ({ExceptionType}: {Reason}); the next lock of the instance finishes it.")]
    public static partial void CleanupAfterCommitFailed(ILogger logger, string instanceId, string exceptionType, string reason);

    [LoggerMessage(EventId = 306, Level = LogLevel.Warning, Message = "Instance {InstanceId}: its row was behind its history (row state version '{RowVersion}', committed '{CommittedVersion}') and was written from the last commit.")]
    public static partial void RepairedInstanceRow(ILogger logger, string instanceId, string rowVersion, string committedVersion);

    [LoggerMessage(EventId = 307, Level = LogLevel.Error, Message = "Instance {InstanceId} failed as poisoned after {Attempts} attempts; its messages were moved to queue '{PoisonQueue}'.")]
    public static partial void PoisonedInstance(ILogger logger, string instanceId, int attempts, string poisonQueue);

    [LoggerMessage(EventId = 308, Level = LogLevel.Information, Message = "Instance {InstanceId}: another worker committed while this one failed it as poisoned; that commit stands ({Reason}).")]
    public static partial void PoisonCommitLost(ILogger logger, string instanceId, string reason);

    [LoggerMessage(EventId = 309, Level = LogLevel.Warning, Message = "Instance {InstanceId}: locking it failed ({ExceptionType}: {Reason}); its messages stay buffered for the next lock.")]
    public static partial void LockFailed(ILogger logger, string instanceId, string exceptionType, string reason);
}
