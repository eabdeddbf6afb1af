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
}
