using System.Diagnostics.Metrics;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Counts storage transactions (HTTP requests, retries included) per service: they are what a task hub costs.
/// Installed as a per-retry pipeline policy on every client the task hub creates; also published as the
/// <c>workflows.storage.transactions</c> counter of the <c>Workflows.Durable.AzureStorage</c> meter.
/// </summary>
public sealed class StorageTransactionCounter
{
    /// <summary>Name of the meter that publishes the counter.</summary>
    public const string MeterName = "Workflows.Durable.AzureStorage";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Transactions = Meter.CreateCounter<long>("workflows.storage.transactions", "{transaction}", "Azure Storage requests made by the task hub.");

    private long _tables;
    private long _queues;
    private long _blobs;

    /// <summary>Requests to the Table service.</summary>
    public long Tables => Interlocked.Read(ref _tables);

    /// <summary>Requests to the Queue service.</summary>
    public long Queues => Interlocked.Read(ref _queues);

    /// <summary>Requests to the Blob service.</summary>
    public long Blobs => Interlocked.Read(ref _blobs);

    /// <summary>All requests.</summary>
    public long Total => Tables + Queues + Blobs;

    /// <summary>The pipeline policy counting requests of one service.</summary>
    public HttpPipelinePolicy PolicyFor(StorageService service) => new CountingPolicy(this, service);

    private void Count(StorageService service)
    {
        switch (service)
        {
            case StorageService.Table:
                Interlocked.Increment(ref _tables);
                break;
            case StorageService.Queue:
                Interlocked.Increment(ref _queues);
                break;
            default:
                Interlocked.Increment(ref _blobs);
                break;
        }

        Transactions.Add(1, new KeyValuePair<string, object?>("service", service.ToString().ToLowerInvariant()));
    }

    private sealed class CountingPolicy(StorageTransactionCounter counter, StorageService service) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message) => counter.Count(service);
    }
}

/// <summary>The storage services a task hub uses.</summary>
public enum StorageService
{
    /// <summary>Table service (history, instances).</summary>
    Table,

    /// <summary>Queue service (control and work-item queues).</summary>
    Queue,

    /// <summary>Blob service (large payloads, leases).</summary>
    Blob,
}
