using System.Diagnostics;
using System.Text.Json;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.Client;
using Workflows.Durable.Worker;
using Workflows.Host.Azurite;

namespace Workflows.Bench;

/// <summary>
/// The <c>engine</c> scenario on <c>--backend azurite</c>: the no-op fan-out and sequence orchestrations of
/// <see cref="EngineScenario"/> on <see cref="AzureStorageProvider"/>, each on a fresh task hub with a default
/// worker; then the idle cost of a started worker, and Azurite's raw throughput for comparison. One Azurite
/// process (in memory, free ports) serves everything.
/// </summary>
internal static class AzuriteScenario
{
    // Polling backs off from 10 ms, doubling, to the 30 s maximum in about 41 s: measure after that, in steady state.
    private static readonly TimeSpan IdleSettle = TimeSpan.FromSeconds(45);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(AzuriteOptions options)
    {
        Console.WriteLine(
            $"engine benchmark: backend=azurite fanout={options.FanOutCount} sequence={options.SequenceCount} repeat={options.Repeat} " +
            $"idle={options.IdleSeconds}s partitions={options.Partitions} processors={Environment.ProcessorCount}");
        await using var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        var hubs = new HubFactory(azurite.ConnectionString, options.Partitions);

        // Warm-up on its own task hub so JIT, tiering and connection set-up do not land in the first measurement.
        await RunOnceAsync(hubs, EngineScenario.FanOutOrchestrator, EngineScenario.WarmUpCount);

        var fanOut = await MeasureAsync(hubs, EngineScenario.FanOutOrchestrator, options.FanOutCount, options.Repeat);
        var sequence = await MeasureAsync(hubs, EngineScenario.SequenceOrchestrator, options.SequenceCount, options.Repeat);
        Console.WriteLine($"  idle: settling {IdleSettle.TotalSeconds:F0} s, then counting for {options.IdleSeconds} s ...");
        var idle = await MeasureIdleAsync(hubs, TimeSpan.FromSeconds(options.IdleSeconds));
        Console.WriteLine("  raw Azurite throughput ...");
        var raw = await RawAzuriteThroughput.MeasureAsync(azurite.ConnectionString);

        Print(options, fanOut, sequence, idle, raw);
        return 0;
    }

    private static async Task<RunCost> MeasureAsync(HubFactory hubs, string orchestrator, int count, int repeat)
    {
        var runs = new List<RunCost>(repeat);
        for (var i = 0; i < repeat; i++)
        {
            var run = await RunOnceAsync(hubs, orchestrator, count);
            Console.WriteLine(
                $"  {orchestrator,-12} count {count,7:N0}  run {i + 1}/{repeat}: {run.WallSeconds:F3} s, {run.Total:N0} transactions");
            runs.Add(run);
        }

        return runs.OrderBy(r => r.WallSeconds).ElementAt((runs.Count - 1) / 2);
    }

    /// <summary>One orchestration on a fresh hub: wall time and transactions from scheduling to completion.</summary>
    private static async Task<RunCost> RunOnceAsync(HubFactory hubs, string orchestrator, int count)
    {
        var provider = hubs.Create();
        var worker = new DurableTaskWorker(provider, EngineScenario.CreateRegistry());
        var client = new DurableTaskClient(provider);
        var counter = provider.Clients.Counter;
        try
        {
            await worker.StartAsync(CancellationToken.None);
            using var timeout = new CancellationTokenSource(EngineScenario.RunTimeout);

            var before = Snapshot.Of(counter);
            var stopwatch = Stopwatch.StartNew();
            var instanceId = await client.ScheduleNewOrchestrationInstanceAsync(orchestrator, count, cancellationToken: timeout.Token);
            var metadata = await EngineScenario.WaitAsync(client, instanceId, count, timeout.Token);
            stopwatch.Stop();
            var delta = Snapshot.Of(counter).Since(before);

            EngineScenario.Verify(client, metadata, orchestrator, count);
            await EngineScenario.StopAsync(worker);
            return new RunCost(count, stopwatch.Elapsed.TotalSeconds, delta.Tables, delta.Queues, delta.Blobs);
        }
        finally
        {
            await worker.DisposeAsync();
            await provider.Clients.DeleteAsync();
        }
    }

    /// <summary>Transactions of a started worker with nothing to do, after the polling has backed off.</summary>
    private static async Task<IdleCost> MeasureIdleAsync(HubFactory hubs, TimeSpan duration)
    {
        var provider = hubs.Create();
        var worker = new DurableTaskWorker(provider, EngineScenario.CreateRegistry());
        var counter = provider.Clients.Counter;
        try
        {
            await worker.StartAsync(CancellationToken.None);
            await Task.Delay(IdleSettle);
            var before = counter.Total;
            var stopwatch = Stopwatch.StartNew();
            await Task.Delay(duration);
            var transactions = counter.Total - before;
            var seconds = stopwatch.Elapsed.TotalSeconds;
            await EngineScenario.StopAsync(worker);
            return new IdleCost(seconds, transactions, transactions * 3600 / seconds);
        }
        finally
        {
            await worker.DisposeAsync();
            await provider.Clients.DeleteAsync();
        }
    }

    private static void Print(AzuriteOptions options, RunCost fanOut, RunCost sequence, IdleCost idle, RawThroughput raw)
    {
        var targets = new Targets(1000, 200, 2, 1000);
        Console.WriteLine();
        Console.WriteLine($"azurite, {options.Partitions} partitions, default worker options; median of {options.Repeat} run(s)");
        Console.WriteLine(
            $"{"pattern",-9} {"count",7} {"wall s",8} {"activities/s",13} {"tx/activity",12} {"tables",8} {"queues",8} {"blobs",6}  target");
        foreach (var (name, run, target) in new[] { ("fanout", fanOut, targets.FanoutActivitiesPerSecond), ("sequence", sequence, targets.SequenceActivitiesPerSecond) })
        {
            Console.WriteLine(
                $"{name,-9} {run.Count,7:N0} {run.WallSeconds,8:F3} {run.ActivitiesPerSecond,13:N1} {run.TransactionsPerActivity,12:F2} " +
                $"{run.Tables,8:N0} {run.Queues,8:N0} {run.Blobs,6:N0}  {target:N0} activities/s, {targets.TransactionsPerActivity} tx/activity");
        }

        Console.WriteLine(
            $"idle      {idle.Transactions:N0} transactions in {idle.Seconds:F1} s = {idle.TransactionsPerHour:N0} per hour (target {targets.IdleTransactionsPerHour:N0})");
        Console.WriteLine(
            $"raw       table batches: {raw.TableEntitiesPerSecond:N0} entities/s ({raw.TableBatchesPerSecond:N1} batches of 100/s); " +
            $"queue sends: {raw.QueueSendsPerSecond:N0}/s sequential, {raw.QueueSendsPerSecondConcurrent16:N0}/s with 16 senders");

        var fanoutVsQueueSend = fanOut.ActivitiesPerSecond / raw.QueueSendsPerSecond;
        Console.WriteLine();
        Console.WriteLine($"fan-out activities/s / sequential queue sends/s = {fanoutVsQueueSend:F3}");
        Console.WriteLine(
            $"transactions per activity: fan-out {fanOut.TransactionsPerActivity:F2}, sequence {sequence.TransactionsPerActivity:F2} (target {targets.TransactionsPerActivity})");

        var summary = new
        {
            scenario = "engine",
            backend = "azurite",
            partitions = options.Partitions,
            repeat = options.Repeat,
            fanout = RunSummary.Of(fanOut),
            sequence = RunSummary.Of(sequence),
            idle = new { seconds = Round(idle.Seconds, 1), transactions = idle.Transactions, transactionsPerHour = Round(idle.TransactionsPerHour, 0) },
            raw = new
            {
                tableEntitiesPerSecond = Round(raw.TableEntitiesPerSecond, 0),
                tableBatchesPerSecond = Round(raw.TableBatchesPerSecond, 1),
                queueSendsPerSecond = Round(raw.QueueSendsPerSecond, 0),
                queueSendsPerSecondConcurrent16 = Round(raw.QueueSendsPerSecondConcurrent16, 0),
            },
            ratios = new { fanoutVsQueueSend = Round(fanoutVsQueueSend, 4) },
            targets,
            processorCount = Environment.ProcessorCount,
        };
        Console.WriteLine(JsonSerializer.Serialize(summary, JsonOptions));
    }

    private static double Round(double value, int digits) => Math.Round(value, digits, MidpointRounding.AwayFromZero);

    /// <summary>Fresh task hubs with unique names (letters and digits) on one Azurite.</summary>
    private sealed class HubFactory(string connectionString, int partitions)
    {
        public AzureStorageProvider Create() => new(new AzureStorageOptions
        {
            ConnectionString = connectionString,
            TaskHubName = "bench" + Guid.NewGuid().ToString("N")[..12],
            PartitionCount = partitions,
        });
    }

    private readonly record struct Snapshot(long Tables, long Queues, long Blobs)
    {
        public static Snapshot Of(StorageTransactionCounter counter) => new(counter.Tables, counter.Queues, counter.Blobs);

        public Snapshot Since(Snapshot earlier) => new(Tables - earlier.Tables, Queues - earlier.Queues, Blobs - earlier.Blobs);
    }

    private sealed record RunCost(int Count, double WallSeconds, long Tables, long Queues, long Blobs)
    {
        public long Total => Tables + Queues + Blobs;

        public double ActivitiesPerSecond => Count / WallSeconds;

        public double TransactionsPerActivity => (double)Total / Count;
    }

    private sealed record IdleCost(double Seconds, long Transactions, double TransactionsPerHour);

    private sealed record Targets(
        int FanoutActivitiesPerSecond,
        int SequenceActivitiesPerSecond,
        int TransactionsPerActivity,
        int IdleTransactionsPerHour);

    /// <summary>JSON of one run; tables, queues and blobs are transaction counts (their sum over count is transactionsPerActivity).</summary>
    private sealed record RunSummary(
        int Count,
        double WallSeconds,
        double ActivitiesPerSecond,
        double TransactionsPerActivity,
        long Transactions,
        long Tables,
        long Queues,
        long Blobs)
    {
        public static RunSummary Of(RunCost run) => new(
            run.Count,
            Round(run.WallSeconds, 4),
            Round(run.ActivitiesPerSecond, 1),
            Round(run.TransactionsPerActivity, 3),
            run.Total,
            run.Tables,
            run.Queues,
            run.Blobs);
    }
}
