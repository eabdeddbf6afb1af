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

    [LoggerMessage(EventId = 309, Level = LogLevel.Warning, Message = "Moved unreadable message {MessageId} of queue '{Queue}' to the poison queue: {Reason}")]
    public static partial void UnreadableMessagePoisoned(ILogger logger, string queue, string messageId, string reason);

    [LoggerMessage(EventId = 310, Level = LogLevel.Debug, Message = "Message {MessageId} of queue '{Queue}' was already deleted or received again (status {Status}); a redelivery is de-duplicated downstream.")]
    public static partial void QueueMessageAlreadyGone(ILogger logger, string queue, string messageId, int status);

    [LoggerMessage(EventId = 311, Level = LogLevel.Information, Message = "Instance {InstanceId}: the failure of poisoned activity '{Activity}' was not delivered, the partition moved on; its new owner recovers the call ({Reason}).")]
    public static partial void PoisonedActivityNotDelivered(ILogger logger, string instanceId, string activity, string reason);

    [LoggerMessage(EventId = 312, Level = LogLevel.Debug, Message = "Sub-orchestration {InstanceId} was created meanwhile ({Status}); the running child drops the duplicate start.")]
    public static partial void ChildCreatedMeanwhile(ILogger logger, string instanceId, string status);

    [LoggerMessage(EventId = 313, Level = LogLevel.Debug, Message = "Message {MessageId} of queue '{Queue}' was not handed back ({ExceptionType}); it shows again when its visibility ends.")]
    public static partial void HandBackFailed(ILogger logger, string queue, string messageId, string exceptionType);

    [LoggerMessage(EventId = 314, Level = LogLevel.Debug, Message = "Held message {MessageId} of queue '{Queue}' is no longer this worker's (status {Status}): deleted already, or received again after its visibility ended.")]
    public static partial void HeldMessageGone(ILogger logger, string queue, string messageId, int status);

    [LoggerMessage(EventId = 315, Level = LogLevel.Debug, Message = "Renewing held message {MessageId} of queue '{Queue}' failed ({ExceptionType}); the next tick retries.")]
    public static partial void RenewalFailed(ILogger logger, string queue, string messageId, string exceptionType);

    [LoggerMessage(EventId = 316, Level = LogLevel.Warning, Message = "Polling the {QueueSet} queues failed ({ExceptionType}); the loop backs off and retries: {Reason}")]
    public static partial void PollFailed(ILogger logger, string queueSet, string exceptionType, string reason);

    [LoggerMessage(EventId = 317, Level = LogLevel.Debug, Message = "Instance {InstanceId}: its row was written by someone else meanwhile (status {Status}); it is read again and the state versions compared.")]
    public static partial void InstanceRowChangedMeanwhile(ILogger logger, string instanceId, int status);

    [LoggerMessage(EventId = 318, Level = LogLevel.Debug, Message = "The lease blob of partition {Partition} exists already (status {Status}).")]
    public static partial void LeaseBlobExists(ILogger logger, int partition, int status);

    [LoggerMessage(EventId = 319, Level = LogLevel.Information, Message = "Stopping: this worker's heartbeat was not deleted ({ExceptionType}); other workers stop counting it once it is old.")]
    public static partial void HeartbeatNotDeleted(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 320, Level = LogLevel.Information, Message = "The lease of partition {Partition} was not given back ({ExceptionType}); it expires on its own.")]
    public static partial void LeaseNotReleased(ILogger logger, int partition, string exceptionType);

    [LoggerMessage(EventId = 321, Level = LogLevel.Warning, Message = "Instance {InstanceId}: locking it failed ({ExceptionType}: {Reason}); its messages stay buffered for the next lock.")]
    public static partial void LockFailed(ILogger logger, string instanceId, string exceptionType, string reason);

    [LoggerMessage(EventId = 322, Level = LogLevel.Debug, Message = "Instance {InstanceId}: the {WorkItem} work item had lost its lock when it was {Outcome}; it is handed out again.")]
    public static partial void WorkItemLockAlreadyLost(ILogger logger, string instanceId, string workItem, string outcome);
}
