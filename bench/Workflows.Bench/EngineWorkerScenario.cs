using System.Globalization;
using System.Text.Json;
using DurableTask.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;
using Workflows.Host.Azurite;
using Workflows.Host.Rpc;

namespace Workflows.Bench;

/// <summary>
/// <c>engine --path worker [--backend azurite|memory] [--count N] [--sequence-count N] [--repeat R] [--partitions P]</c>:
/// the same fan-out/fan-in and sequence of no-op activities run two ways on one backend, one after the other in one
/// process: in-process (the SDK's orchestrators on DTFx's TaskHubWorker, as the engine scenario runs them) and through
/// the app's worker process (bench/Workflows.Bench.WorkerApp, a genuine isolated app started and spoken to over the
/// Functions host protocol, every episode and activity an invocation). Median activities/s of R runs after a warm-up,
/// timed by the instance's own creation and completion; the worker path's share of the in-process figure.
/// </summary>
internal static class EngineWorkerScenario
{
    private const string WorkerAppName = "Workflows.Bench.WorkerApp";

    private sealed record PathFigures(string Path, double FanOut, double Sequence);

    public static async Task<int> RunAsync(BenchArgs args)
    {
        args.AllowOnly("path", "backend", "count", "sequence-count", "repeat", "partitions");
        string backend = args.GetString("backend", "azurite").ToLowerInvariant();
        if (backend is not ("azurite" or "memory"))
        {
            throw new UsageException($"engine --path worker: unknown backend '{backend}' (available: azurite, memory).");
        }

        int count = args.GetInt("count", 1_000, min: 1);
        int sequenceCount = args.GetInt("sequence-count", 100, min: 1);
        int repeat = args.GetInt("repeat", 3, min: 1);
        int partitions = args.GetInt("partitions", 4, min: 1);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"engine benchmark, worker path: backend={backend} fanout={count} sequence={sequenceCount} repeat={repeat} partitions={partitions} processors={Environment.ProcessorCount}"));

        await using AzuriteProcess? azurite = backend == "azurite" ? await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory)) : null;
        await using var channel = new WorkerChannel(new WorkerChannelOptions { AppDirectory = LocateWorkerApp() }, NullLoggerFactory.Instance);
        await channel.StartAsync(CancellationToken.None);

        var figures = new List<PathFigures>();
        foreach (string path in new[] { "in-process", "worker" })
        {
            IOrchestrationService service = azurite is null
                ? new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { MaxConcurrentActivityWorkItems = 200, MaxConcurrentOrchestrationWorkItems = 100 })
                : new TaskHubOrchestrationService(
                    new AzureStorageOptions { ConnectionString = azurite.ConnectionString, TaskHubName = "workerbench" + path.Replace("-", string.Empty, StringComparison.Ordinal), PartitionCount = partitions },
                    new TaskHubOrchestrationServiceOptions { ExtendedSessions = true });
            try
            {
                await using var host = path == "worker"
                    ? new TaskHubWorkerHost(service, new FunctionsWorkerRunner(channel), sessionIdleTimeout: azurite is null ? null : TimeSpan.FromSeconds(30))
                    : new TaskHubWorkerHost(service, EngineScenario.Registry());
                await host.StartAsync();
                var client = new OrchestrationServiceDurableTaskClient((IOrchestrationServiceClient)service);
                await EngineScenario.RunOnceAsync(client, "FanOut", Math.Min(count, 100));
                double fanOut = await EngineScenario.MedianRateAsync(client, path, "FanOut", count, repeat);
                double sequence = await EngineScenario.MedianRateAsync(client, path, "Sequence", sequenceCount, repeat);
                figures.Add(new PathFigures(path, fanOut, sequence));
                await host.StopAsync(isForced: true);
                await service.DeleteAsync();
            }
            finally
            {
                await EngineScenario.DisposeAsync(service);
            }
        }

        PathFigures inProcess = figures[0];
        PathFigures worker = figures[1];
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| path ({backend}) | fan-out {count}: activities/s | sequence {sequenceCount}: activities/s |"));
        Console.WriteLine("|---|---:|---:|");
        foreach (PathFigures row in figures)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {row.Path} | {row.FanOut:F0} | {row.Sequence:F0} |"));
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"worker / in-process: fan-out {worker.FanOut / inProcess.FanOut:P0}, sequence {worker.Sequence / inProcess.Sequence:P0}"));
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            scenario = "engine",
            path = "worker",
            backend,
            repeat,
            fanOutCount = count,
            sequenceCount,
            inProcess = new { fanOutActivitiesPerSecond = Math.Round(inProcess.FanOut), sequenceActivitiesPerSecond = Math.Round(inProcess.Sequence) },
            worker = new { fanOutActivitiesPerSecond = Math.Round(worker.FanOut), sequenceActivitiesPerSecond = Math.Round(worker.Sequence) },
            workerShare = new { fanOut = Math.Round(worker.FanOut / inProcess.FanOut, 2), sequence = Math.Round(worker.Sequence / inProcess.Sequence, 2) },
        }));
        return 0;
    }

    /// <summary>The worker app's build output: this project references it (without its assembly), so it is built first into the same layout.</summary>
    private static string LocateWorkerApp()
    {
        string bench = AppContext.BaseDirectory;
        string project = bench;
        while (!File.Exists(Path.Combine(project, "Workflows.Bench.csproj")))
        {
            project = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(project))
                ?? throw new BenchFailedException("Run the benchmark from its build output (bench/Workflows.Bench/bin/...).");
        }

        string layout = Path.GetRelativePath(project, bench);
        string app = Path.GetFullPath(Path.Combine(project, "..", WorkerAppName, layout));
        return File.Exists(Path.Combine(app, "worker.config.json"))
            ? app
            : throw new BenchFailedException($"The benchmark's worker app is not built at {app}.");
    }
}
