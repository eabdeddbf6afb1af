using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using Azure.Storage.Queues;

namespace Workflows.Bench;

/// <summary>What Azurite itself sustains from this process, with no engine in between: the yardstick for the engine's figures.</summary>
internal sealed record RawThroughput(
    double TableEntitiesPerSecond,
    double TableBatchesPerSecond,
    double QueueSendsPerSecond,
    double QueueSendsPerSecondConcurrent16);

/// <summary>
/// Measures table batch inserts (100 entities per entity-group transaction) and queue sends (sequential and with 16
/// concurrent senders) on scratch resources, which it deletes afterwards.
/// </summary>
internal static class RawAzuriteThroughput
{
    private const int Batches = 50;
    private const int EntitiesPerBatch = 100;
    private const int Messages = 1000;
    private const int ConcurrentSenders = 16;
    private const string MessageBody = "{\"bench\":\"raw queue send\"}";

    public static async Task<RawThroughput> MeasureAsync(string connectionString)
    {
        var name = "benchraw" + Guid.NewGuid().ToString("N")[..12];
        var (entitiesPerSecond, batchesPerSecond) = await MeasureTableBatchesAsync(new TableServiceClient(connectionString).GetTableClient(name));
        var queue = new QueueServiceClient(connectionString).GetQueueClient(name);
        await queue.CreateAsync();
        try
        {
            await SendAsync(queue, 50, 1); // warm-up: connections, JIT
            return new RawThroughput(
                entitiesPerSecond,
                batchesPerSecond,
                await SendAsync(queue, Messages, 1),
                await SendAsync(queue, Messages, ConcurrentSenders));
        }
        finally
        {
            await queue.DeleteIfExistsAsync();
        }
    }

    private static async Task<(double EntitiesPerSecond, double BatchesPerSecond)> MeasureTableBatchesAsync(TableClient table)
    {
        await table.CreateAsync();
        try
        {
            await table.SubmitTransactionAsync(Batch("warmup")); // connections, JIT
            var stopwatch = Stopwatch.StartNew();
            for (var b = 0; b < Batches; b++)
            {
                await table.SubmitTransactionAsync(Batch("p" + b.ToString(CultureInfo.InvariantCulture)));
            }

            var seconds = stopwatch.Elapsed.TotalSeconds;
            return (Batches * EntitiesPerBatch / seconds, Batches / seconds);
        }
        finally
        {
            await table.DeleteAsync();
        }
    }

    /// <summary>One entity-group transaction: all entities share the partition key.</summary>
    private static IEnumerable<TableTransactionAction> Batch(string partitionKey) =>
        Enumerable.Range(0, EntitiesPerBatch).Select(i => new TableTransactionAction(
            TableTransactionActionType.Add,
            new TableEntity(partitionKey, i.ToString("D5", CultureInfo.InvariantCulture)) { ["Value"] = i }));

    /// <summary>Sends <paramref name="count"/> messages from <paramref name="senders"/> concurrent loops; returns messages per second.</summary>
    private static async Task<double> SendAsync(QueueClient queue, int count, int senders)
    {
        var remaining = count;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, senders).Select(async _ =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                await queue.SendMessageAsync(MessageBody);
            }
        }));
        return count / stopwatch.Elapsed.TotalSeconds;
    }
}
