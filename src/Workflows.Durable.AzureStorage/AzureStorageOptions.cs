namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Settings of the Azure Storage task hub; names follow host.json's <c>extensions.durableTask</c> and
/// <c>storageProvider</c> sections.
/// </summary>
public sealed class AzureStorageOptions
{
    /// <summary>Most control-queue partitions (as Durable Functions).</summary>
    public const int MaxPartitionCount = 16;

    /// <summary>Storage connection string; <c>UseDevelopmentStorage=true</c> means Azurite on its default ports.</summary>
    public string ConnectionString { get; set; } = "UseDevelopmentStorage=true";

    /// <summary>Task hub name: 3–45 characters, letters and digits, starting with a letter. Names tables, queues and containers.</summary>
    public string TaskHubName { get; set; } = "WorkflowsHub";

    /// <summary>Number of control queues (partitions), 1–16.</summary>
    public int PartitionCount { get; set; } = 4;

    /// <summary>
    /// How many times a message may be handed out without being completed before it is poison: it moves to the
    /// poison queue and its instance (or the activity call) fails with the reason.
    /// </summary>
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>
    /// Duration of a partition lease, 15 to 60 seconds (blob lease limits): how long another worker waits before it
    /// takes over the partitions of a worker that died. A worker restarted under the same
    /// <see cref="WorkerId"/> takes its own back at once.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a queue message that a worker holds (received and not yet finished with, or a recovery marker of its
    /// in-process activities) stays invisible without a renewal, 1 second to 5 minutes. The holder renews it every
    /// third of this, so the messages of a worker that died show again this long after its last renewal at most.
    /// </summary>
    public TimeSpan MessageVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// This worker's name on the task hub; null gives it a new random one each run. Under a stable name a restarted
    /// worker takes back the partitions its previous run held at once, instead of waiting for their leases to expire.
    /// Two running workers must never share a name (they would both believe they own the same partitions); the host
    /// derives one from the machine and the app and holds a machine-wide lock on it while it runs.
    /// </summary>
    public string? WorkerId { get; set; }

    /// <summary>
    /// How often leases are renewed; at most two thirds of the lease duration. Partitions
    /// are rebalanced every other renewal. The default keeps the idle cost of 4 partitions near 400 transactions an hour.
    /// </summary>
    public TimeSpan LeaseRenewInterval { get; set; } = TimeSpan.FromSeconds(40);

    /// <summary>
    /// Activities of instances in this worker's partitions run in-process. While other workers are alive and more
    /// than this many are queued here, new calls go to the shared work-item queue for any worker to take.
    /// </summary>
    public int MaxLocalActivityBacklog { get; set; } = 100;

    /// <summary>Upper bound of the idle polling interval (polling backs off to it when there is no work).</summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a stopping worker tries to give its partition leases back and delete its heartbeat. Best effort: when
    /// storage is gone (Ctrl+C reaches the Azurite a host started as it reaches the host), the worker stops anyway
    /// and the leases expire after <see cref="LeaseDuration"/>. Not a host.json setting; tests shorten it.
    /// </summary>
    internal TimeSpan ShutdownCleanupTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Tests only: the storage SDK's retries per call (null: its defaults, 5 retries with exponential backoff from
    /// 0.8 s, so a call to storage that is down fails after about half a minute).
    /// </summary>
    internal (int MaxRetries, TimeSpan Delay)? StorageRetries { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and why.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("AzureWebJobsStorage (the storage connection string) is empty.");
        }

        TaskHubNames.Validate(TaskHubName);
        if (PartitionCount is < 1 or > MaxPartitionCount)
        {
            throw new ArgumentException($"storageProvider.partitionCount must be between 1 and {MaxPartitionCount}; got {PartitionCount}.");
        }

        if (LeaseDuration < TimeSpan.FromSeconds(15) || LeaseDuration > TimeSpan.FromSeconds(60))
        {
            throw new ArgumentException($"storageProvider.leaseDuration must be between 15 and 60 seconds; got {LeaseDuration}.");
        }

        if (LeaseRenewInterval <= TimeSpan.Zero || LeaseRenewInterval * 3 > LeaseDuration * 2)
        {
            throw new ArgumentException($"storageProvider.leaseRenewInterval must be positive and at most two thirds of the lease duration; got {LeaseRenewInterval}.");
        }

        if (MessageVisibilityTimeout < TimeSpan.FromSeconds(1) || MessageVisibilityTimeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentException($"storageProvider.messageVisibilityTimeout must be between 1 second and 5 minutes; got {MessageVisibilityTimeout}.");
        }

        if (WorkerId is { Length: 0 or > 128 })
        {
            throw new ArgumentException("storageProvider.workerId must be 1 to 128 characters long when set.");
        }

        if (MaxDequeueCount is < 1 or > 100)
        {
            throw new ArgumentException($"storageProvider.maxDequeueCount must be between 1 and 100; got {MaxDequeueCount}.");
        }

        if (MaxLocalActivityBacklog < 0)
        {
            throw new ArgumentException($"storageProvider.maxLocalActivityBacklog must not be negative; got {MaxLocalActivityBacklog}.");
        }

        if (MaxQueuePollingInterval < TimeSpan.FromMilliseconds(100) || MaxQueuePollingInterval > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException($"storageProvider.maxQueuePollingInterval must be between 100 ms and 10 minutes; got {MaxQueuePollingInterval}.");
        }
    }
}
