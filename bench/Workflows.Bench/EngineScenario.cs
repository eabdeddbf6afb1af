using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;

namespace Workflows.Bench;

/// <summary>
/// <c>engine --backend memory [--count N] [--sequence-count N] [--repeat R] [--extended-sessions on|off] [--activity-lock on|off]</c>: the official
/// SDK's orchestrators on DTFx's TaskHubWorker over the in-memory backend. A fan-out/fan-in of N no-op activities and a
/// sequence of no-op activities; figures are activities per second (best of R runs after a warm-up run).
/// <c>--activity-lock off</c> hands activities out without a lock timeout, which spares DTFx its renewal loop.
/// </summary>
internal static class EngineScenario
{
    public static async Task<int> RunAsync(BenchArgs args)
    {
        if (string.Equals(args.GetString("path", "in-process"), "worker", StringComparison.OrdinalIgnoreCase))
        {
            return await EngineWorkerScenario.RunAsync(args);
        }

        string backend = args.GetString("backend", "memory");
        if (string.Equals(backend, "azurite", StringComparison.OrdinalIgnoreCase))
        {
            return await EngineAzuriteScenario.RunAsync(args);
        }

        if (!string.Equals(backend, "memory", StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageException($"engine: unknown backend '{backend}' (available: memory, azurite).");
        }

        int count = args.GetInt("count", 10_000, min: 1);
        int sequenceCount = args.GetInt("sequence-count", 1_000, min: 1);
        int repeat = args.GetInt("repeat", 3, min: 1);
        bool extendedSessions = !string.Equals(args.GetString("extended-sessions", "on"), "off", StringComparison.OrdinalIgnoreCase);

        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions
        {
            ExtendedSessionIdleTimeout = extendedSessions ? TimeSpan.FromSeconds(5) : null,
            MaxConcurrentActivityWorkItems = 200,
            MaxConcurrentOrchestrationWorkItems = 100,
            ActivityLockTimeout = args.GetString("activity-lock", "on") == "off" ? null : TimeSpan.FromMinutes(5),
        });
        var registry = Registry();
        await using var host = new TaskHubWorkerHost(service, registry);
        await host.StartAsync();
        var client = new OrchestrationServiceDurableTaskClient(service);

        double fanOut = await BestAsync(client, "FanOut", count, repeat);
        double sequence = await BestAsync(client, "Sequence", sequenceCount, repeat);
        await host.StopAsync(isForced: true);

        Console.WriteLine("| backend | extended sessions | pattern | activities | activities/s (best of {0}) |", repeat);
        Console.WriteLine("|---|---|---|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| memory | {(extendedSessions ? "on" : "off")} | fan-out | {count} | {fanOut:F0} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| memory | {(extendedSessions ? "on" : "off")} | sequence | {sequenceCount} | {sequence:F0} |"));
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            scenario = "engine",
            backend = "memory",
            extendedSessions,
            fanOutCount = count,
            fanOutActivitiesPerSecond = Math.Round(fanOut),
            sequenceCount,
            sequenceActivitiesPerSecond = Math.Round(sequence),
        }));
        return 0;
    }

    /// <summary>The scenario's orchestrators: a fan-out/fan-in and a sequence of no-op activities, each returning the count.</summary>
    internal static DurableTaskRegistry Registry()
    {
        var registry = new DurableTaskRegistry();
        registry.AddOrchestratorFunc<int, int>("FanOut", async (context, n) =>
        {
            var tasks = new Task<int>[n];
            for (int i = 0; i < n; i++)
            {
                tasks[i] = context.CallActivityAsync<int>("Noop", i);
            }

            int[] results = await Task.WhenAll(tasks);
            return results.Length;
        });
        registry.AddOrchestratorFunc<int, int>("Sequence", async (context, n) =>
        {
            int done = 0;
            for (int i = 0; i < n; i++)
            {
                done += await context.CallActivityAsync<int>("Noop", 1);
            }

            return done;
        });
        registry.AddActivityFunc<int, int>("Noop", (_, input) => input);
        return registry;
    }

    /// <summary>
    /// Runs <paramref name="orchestrator"/> once and checks its output. Wall: from scheduling until the client saw the
    /// completion. Instance: from the instance's creation to its last update, as the backend recorded them, which leaves
    /// out how often the backend's client polls for the completion.
    /// </summary>
    internal static async Task<(TimeSpan Wall, TimeSpan Instance)> RunOnceAsync(DurableTaskClient client, string orchestrator, int count)
    {
        var clock = Stopwatch.StartNew();
        string id = await client.ScheduleNewOrchestrationInstanceAsync(orchestrator, count);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        OrchestrationMetadata done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        clock.Stop();
        if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed || done.ReadOutputAs<int>() != count)
        {
            throw new BenchFailedException($"{orchestrator} of {count} ended {done.RuntimeStatus} with {done.SerializedOutput}: {done.FailureDetails}");
        }

        return (clock.Elapsed, done.LastUpdatedAt - done.CreatedAt);
    }

    /// <summary>
    /// Median activities/s over <paramref name="repeat"/> runs of <paramref name="orchestrator"/>, each timed from the
    /// instance's creation to its completion as the backend recorded them (a client's polling interval is not the
    /// backend's speed); each run is printed under <paramref name="label"/>.
    /// </summary>
    internal static async Task<double> MedianRateAsync(DurableTaskClient client, string label, string orchestrator, int count, int repeat)
    {
        var rates = new List<double>(repeat);
        for (int run = 0; run < repeat; run++)
        {
            var (wall, instance) = await RunOnceAsync(client, orchestrator, count);
            rates.Add(count / instance.TotalSeconds);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"  {label,-20} {orchestrator,-9} {count,6:N0}  run {run + 1}/{repeat}: instance {instance.TotalSeconds:F3} s, client wait {wall.TotalSeconds:F3} s"));
        }

        rates.Sort();
        return rates[(rates.Count - 1) / 2];
    }

    /// <summary>Disposes a backend, whichever way it is disposable.</summary>
    internal static async Task DisposeAsync(IOrchestrationService service)
    {
        if (service is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync();
        }
        else
        {
            (service as IDisposable)?.Dispose();
        }
    }

    private static async Task<double> BestAsync(DurableTaskClient client, string orchestrator, int count, int repeat)
    {
        double best = 0;
        for (int run = 0; run <= repeat; run++)
        {
            TimeSpan elapsed = (await RunOnceAsync(client, orchestrator, count)).Wall;
            if (run > 0)
            {
                best = Math.Max(best, count / elapsed.TotalSeconds);
            }
        }

        return best;
    }
}
