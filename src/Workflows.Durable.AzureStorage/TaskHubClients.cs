using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// The storage clients of one task hub, each with the transaction-counting policy, and creation of the hub's
/// tables, queues and containers on first start.
/// </summary>
public sealed class TaskHubClients
{
    /// <summary>Creates clients for the hub described by <paramref name="options"/>.</summary>
    public TaskHubClients(AzureStorageOptions options, StorageTransactionCounter? counter = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Names = new TaskHubNames(options.TaskHubName, options.PartitionCount);
        Counter = counter ?? new StorageTransactionCounter();

        var tableOptions = new TableClientOptions();
        tableOptions.AddPolicy(Counter.PolicyFor(StorageService.Table), HttpPipelinePosition.PerRetry);
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        queueOptions.AddPolicy(Counter.PolicyFor(StorageService.Queue), HttpPipelinePosition.PerRetry);
        var blobOptions = new BlobClientOptions();
        blobOptions.AddPolicy(Counter.PolicyFor(StorageService.Blob), HttpPipelinePosition.PerRetry);
        if (options.StorageRetries is { } retries)
        {
            foreach (var clientOptions in new ClientOptions[] { tableOptions, queueOptions, blobOptions })
            {
                clientOptions.Retry.MaxRetries = retries.MaxRetries;
                clientOptions.Retry.Delay = retries.Delay;
                clientOptions.Retry.MaxDelay = retries.Delay;
            }
        }

        Tables = new TableServiceClient(options.ConnectionString, tableOptions);
        Queues = new QueueServiceClient(options.ConnectionString, queueOptions);
        Blobs = new BlobServiceClient(options.ConnectionString, blobOptions);
        Instances = Tables.GetTableClient(Names.InstancesTable);
        History = Tables.GetTableClient(Names.HistoryTable);
        WorkItems = Queues.GetQueueClient(Names.WorkItemQueue);
        Poison = Queues.GetQueueClient(Names.PoisonQueue);
        ControlQueues = Names.ControlQueues.Select(Queues.GetQueueClient).ToArray();
        LargeMessages = Blobs.GetBlobContainerClient(Names.LargeMessagesContainer);
        Leases = Blobs.GetBlobContainerClient(Names.LeasesContainer);
    }

    /// <summary>Resource names.</summary>
    public TaskHubNames Names { get; }

    /// <summary>Transactions made through these clients.</summary>
    public StorageTransactionCounter Counter { get; }

    /// <summary>Table service.</summary>
    public TableServiceClient Tables { get; }

    /// <summary>Queue service.</summary>
    public QueueServiceClient Queues { get; }

    /// <summary>Blob service.</summary>
    public BlobServiceClient Blobs { get; }

    /// <summary>Instances table.</summary>
    public TableClient Instances { get; }

    /// <summary>History table.</summary>
    public TableClient History { get; }

    /// <summary>Activity work-item queue.</summary>
    public QueueClient WorkItems { get; }

    /// <summary>Poison-message queue.</summary>
    public QueueClient Poison { get; }

    /// <summary>Control queues by partition.</summary>
    public IReadOnlyList<QueueClient> ControlQueues { get; }

    /// <summary>Large-payload container.</summary>
    public BlobContainerClient LargeMessages { get; }

    /// <summary>Partition-lease container.</summary>
    public BlobContainerClient Leases { get; }

    /// <summary>Creates the hub's tables, queues and containers where missing; idempotent.</summary>
    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(
            Instances.CreateIfNotExistsAsync(cancellationToken),
            History.CreateIfNotExistsAsync(cancellationToken),
            WorkItems.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            Poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            LargeMessages.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            Leases.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        await Task.WhenAll(ControlQueues.Select(q => q.CreateIfNotExistsAsync(cancellationToken: cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>Deletes every resource of the hub (tests and tear-down).</summary>
    public async Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(
            Instances.DeleteAsync(cancellationToken),
            History.DeleteAsync(cancellationToken),
            WorkItems.DeleteIfExistsAsync(cancellationToken),
            Poison.DeleteIfExistsAsync(cancellationToken),
            LargeMessages.DeleteIfExistsAsync(cancellationToken: cancellationToken),
            Leases.DeleteIfExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        await Task.WhenAll(ControlQueues.Select(q => q.DeleteIfExistsAsync(cancellationToken))).ConfigureAwait(false);
    }
}
