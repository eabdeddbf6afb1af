using System.Globalization;
using System.Text.Json;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.Host.Azurite;

namespace Workflows.Bench;

/// <summary>
/// <c>engine --backend azurite [--backends dtfx-azurestorage,workflows-taskhub] [--count N] [--sequence-count N] [--repeat R] [--partitions P] [--extended-sessions on|off]</c>:
/// the official SDK's orchestrators on DTFx's TaskHubWorker over each Azure Storage backend in turn, on one Azurite that
/// the benchmark starts: a fan-out/fan-in of N no-op activities and a sequence of no-op activities, each backend on a
/// task hub of its own, median of R runs after a warm-up run. The backends run one after the other in one process, so
/// their figures are like for like.
/// </summary>
internal static class EngineAzuriteScenario
{
    /// <summary>How a backend under test is built on a connection string, a task hub name, a partition count and extended sessions or not: the service and the counter of its storage requests.</summary>
    private delegate (IOrchestrationService Service, StorageTransactionCounter Counter) CreateBackend(string connectionString, string hub, int partitions, bool extendedSessions);

    private sealed record Backend(string Name, CreateBackend Create);

    private sealed record PatternFigures(double ActivitiesPerSecond, double TransactionsPerActivity);

    private sealed record BackendFigures(string Name, PatternFigures FanOut, PatternFigures Sequence, double IdleTransactionsPerHour);

    private static readonly Backend[] Backends =
    [
        new("dtfx-azurestorage", (connectionString, hub, partitions, extendedSessions) =>
        {
            var counter = new StorageTransactionCounter();
            return (new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
            {
                StorageAccountClientProvider = new StorageAccountClientProvider(
                    StorageServiceClientProvider.ForBlob(connectionString, Counted(new BlobClientOptions(), counter, StorageService.Blob)),
                    StorageServiceClientProvider.ForQueue(connectionString, Counted(new QueueClientOptions(), counter, StorageService.Queue)),
                    StorageServiceClientProvider.ForTable(connectionString, Counted(new TableClientOptions(), counter, StorageService.Table))),
                TaskHubName = hub,
                PartitionCount = partitions,
                ExtendedSessionsEnabled = extendedSessions,
            }), counter);
        }),
        new("workflows-taskhub", (connectionString, hub, partitions, extendedSessions) =>
        {
            var service = new TaskHubOrchestrationService(
                new AzureStorageOptions { ConnectionString = connectionString, TaskHubName = hub, PartitionCount = partitions },
                new TaskHubOrchestrationServiceOptions { ExtendedSessions = extendedSessions });
            return (service, service.Provider.Clients.Counter);
        }),
    ];

    public static async Task<int> RunAsync(BenchArgs args)
    {
        args.AllowOnly("backend", "backends", "count", "sequence-count", "repeat", "partitions", "extended-sessions", "idle-seconds");
        int count = args.GetInt("count", 1_000, min: 1);
        int sequenceCount = args.GetInt("sequence-count", 100, min: 1);
        int repeat = args.GetInt("repeat", 3, min: 1);
        int partitions = args.GetInt("partitions", 4, min: 1);
        int idleSeconds = args.GetInt("idle-seconds", 120, min: 0);
        bool extendedSessions = !string.Equals(args.GetString("extended-sessions", "on"), "off", StringComparison.OrdinalIgnoreCase);
        string[] selected = args.GetString("backends", string.Join(",", Backends.Select(b => b.Name))).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (selected.FirstOrDefault(name => !Backends.Any(b => b.Name == name)) is { } unknown)
        {
            throw new UsageException($"unknown backend '{unknown}' (available: {string.Join(", ", Backends.Select(b => b.Name))}).");
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"engine benchmark: backend=azurite fanout={count} sequence={sequenceCount} repeat={repeat} partitions={partitions} extendedSessions={extendedSessions} processors={Environment.ProcessorCount}"));

        await using var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        var figures = new List<BackendFigures>();
        foreach (var backend in Backends.Where(b => selected.Contains(b.Name)))
        {
            string hub = "enginebench" + backend.Name.Replace("-", string.Empty, StringComparison.Ordinal);
            var (service, counter) = backend.Create(azurite.ConnectionString, hub, partitions, extendedSessions);
            try
            {
                await using var host = new TaskHubWorkerHost(service, EngineScenario.Registry());
                await host.StartAsync();
                var client = new OrchestrationServiceDurableTaskClient((IOrchestrationServiceClient)service);
                await EngineScenario.RunOnceAsync(client, "FanOut", Math.Min(count, 100));
                var fanOut = await MeasureAsync(client, counter, backend.Name, "FanOut", count, repeat);
                var sequence = await MeasureAsync(client, counter, backend.Name, "Sequence", sequenceCount, repeat);
                var idle = await MeasureIdleAsync(counter, backend.Name, idleSeconds);
                figures.Add(new BackendFigures(backend.Name, fanOut, sequence, idle));
                await host.StopAsync(isForced: true);
                await service.DeleteAsync();
            }
            finally
            {
                await EngineScenario.DisposeAsync(service);
            }
        }

        Console.WriteLine("  raw Azurite throughput (the yardstick: no backend in between) ...");
        var raw = await RawAzuriteThroughput.MeasureAsync(azurite.ConnectionString);
        var ours = figures.Find(f => f.Name == "workflows-taskhub");
        var dtfx = figures.Find(f => f.Name == "dtfx-azurestorage");

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| backend | fan-out {count}: activities/s | tx/activity | sequence {sequenceCount}: activities/s | tx/activity | idle tx/hour |"));
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var backend in figures)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {backend.Name} | {backend.FanOut.ActivitiesPerSecond:F0} | {backend.FanOut.TransactionsPerActivity:F2} | {backend.Sequence.ActivitiesPerSecond:F0} | {backend.Sequence.TransactionsPerActivity:F2} | {(double.IsNaN(backend.IdleTransactionsPerHour) ? "—" : backend.IdleTransactionsPerHour.ToString("F0", CultureInfo.InvariantCulture))} |"));
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"raw Azurite: {raw.TableEntitiesPerSecond:F0} table entities/s in batches, {raw.QueueSendsPerSecond:F0} queue sends/s (sequential), {raw.QueueSendsPerSecondConcurrent16:F0}/s (16 concurrent)"));
        if (ours is not null && dtfx is not null)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"ours / DTFx: fan-out x{ours.FanOut.ActivitiesPerSecond / dtfx.FanOut.ActivitiesPerSecond:F1}, sequence x{ours.Sequence.ActivitiesPerSecond / dtfx.Sequence.ActivitiesPerSecond:F1}"));
        }

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            scenario = "engine",
            backend = "azurite",
            extendedSessions,
            partitions,
            repeat,
            fanOutCount = count,
            sequenceCount,
            backends = figures.Select(f => new
            {
                name = f.Name,
                fanOutActivitiesPerSecond = Math.Round(f.FanOut.ActivitiesPerSecond),
                fanOutTransactionsPerActivity = Math.Round(f.FanOut.TransactionsPerActivity, 2),
                sequenceActivitiesPerSecond = Math.Round(f.Sequence.ActivitiesPerSecond),
                sequenceTransactionsPerActivity = Math.Round(f.Sequence.TransactionsPerActivity, 2),
                idleSeconds,
                idleTransactionsPerHour = double.IsNaN(f.IdleTransactionsPerHour) ? (double?)null : Math.Round(f.IdleTransactionsPerHour),
            }),
            oursOverDtfx = ours is null || dtfx is null ? null : new
            {
                fanOut = Math.Round(ours.FanOut.ActivitiesPerSecond / dtfx.FanOut.ActivitiesPerSecond, 2),
                sequence = Math.Round(ours.Sequence.ActivitiesPerSecond / dtfx.Sequence.ActivitiesPerSecond, 2),
            },
            rawAzurite = new
            {
                tableEntitiesPerSecond = Math.Round(raw.TableEntitiesPerSecond),
                queueSendsPerSecond = Math.Round(raw.QueueSendsPerSecond),
                queueSendsPerSecondConcurrent16 = Math.Round(raw.QueueSendsPerSecondConcurrent16),
            },
        }));
        return 0;
    }

    /// <summary>
    /// Median activities/s over <paramref name="repeat"/> runs, timed from the instance's creation to its completion as
    /// the backend recorded them (the client's polling interval differs between backends and is not the backend's
    /// speed), and storage transactions per activity over all of them.
    /// </summary>
    private static async Task<PatternFigures> MeasureAsync(Microsoft.DurableTask.Client.DurableTaskClient client, StorageTransactionCounter counter, string backend, string orchestrator, int count, int repeat)
    {
        long before = counter.Total;
        double median = await EngineScenario.MedianRateAsync(client, backend, orchestrator, count, repeat);
        return new PatternFigures(median, (double)(counter.Total - before) / ((long)count * repeat));
    }

    /// <summary>
    /// Storage transactions per hour of a worker with nothing to do, counted over <paramref name="seconds"/> after the
    /// minute the worker takes to back off to its longest polling interval; NaN when not measured.
    /// </summary>
    private static async Task<double> MeasureIdleAsync(StorageTransactionCounter counter, string backend, int seconds)
    {
        if (seconds == 0)
        {
            return double.NaN;
        }

        await Task.Delay(TimeSpan.FromMinutes(1));
        long before = counter.Total;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        double perHour = (counter.Total - before) * 3600.0 / clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {backend,-20} idle {seconds} s: {counter.Total - before} transactions, {perHour:F0}/hour"));
        return perHour;
    }

    private static T Counted<T>(T options, StorageTransactionCounter counter, StorageService service)
        where T : ClientOptions
    {
        options.AddPolicy(counter.PolicyFor(service), HttpPipelinePosition.PerRetry);
        return options;
    }
}
