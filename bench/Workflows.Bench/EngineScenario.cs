using System.Diagnostics;
using Workflows.Durable;
using Workflows.Durable.Client;
using Workflows.Durable.InMemory;
using Workflows.Durable.Worker;

namespace Workflows.Bench;

/// <summary>
/// The <c>engine</c> scenario: one orchestration that calls a no-op activity <c>count</c> times, either all at once
/// (fan-out / fan-in with Task.WhenAll) or one after another, on a fresh in-memory task hub and worker per run.
/// It measures the engine itself: dispatch, replay, history and the provider, with no real work in the activities.
/// </summary>
internal static class EngineScenario
{
    internal const string FanOutOrchestrator = "FanOutNoop";
    internal const string SequenceOrchestrator = "SequenceNoop";
    internal const int WarmUpCount = 100;
    private const string NoopActivity = "Noop";
    internal static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(10);

    public static async Task<int> RunAsync(EngineOptions options)
    {
        var orchestrator = options.Pattern == EnginePattern.FanOut ? FanOutOrchestrator : SequenceOrchestrator;
        Console.WriteLine(
            $"engine benchmark: backend={options.Backend} pattern={options.PatternName} counts={string.Join(",", options.Counts)} " +
            $"repeat={options.Repeat} processors={Environment.ProcessorCount}");

        // Warm-up on its own task hub so JIT, tiering and thread-pool growth do not land in the first measurement.
        await RunOnceAsync(orchestrator, WarmUpCount);

        var results = new List<EngineResult>(options.Counts.Count);
        foreach (var count in options.Counts)
        {
            var runs = new List<RunMeasurement>(options.Repeat);
            for (var i = 0; i < options.Repeat; i++)
            {
                var run = await RunOnceAsync(orchestrator, count);
                Console.WriteLine($"  count {count,9:N0}  run {i + 1}/{options.Repeat}: {run.WallSeconds:F3} s");
                runs.Add(run);
            }

            results.Add(EngineResult.FromRuns(count, runs));
        }

        EngineReport.Print(options, results);
        return 0;
    }

    /// <summary>The two no-op orchestrators and the no-op activity; shared by every backend.</summary>
    internal static DurableTaskRegistry CreateRegistry()
    {
        var registry = new DurableTaskRegistry();
        registry.AddOrchestratorFunc<int, long>(FanOutOrchestrator, async (context, count) =>
        {
            var calls = new Task<int>[count];
            for (var i = 0; i < count; i++)
            {
                calls[i] = context.CallActivityAsync<int>(NoopActivity, i + 1);
            }

            var results = await Task.WhenAll(calls);
            long sum = 0;
            foreach (var result in results)
            {
                sum += result;
            }

            return sum;
        });
        registry.AddOrchestratorFunc<int, long>(SequenceOrchestrator, async (context, count) =>
        {
            long sum = 0;
            for (var i = 0; i < count; i++)
            {
                sum += await context.CallActivityAsync<int>(NoopActivity, i + 1);
            }

            return sum;
        });
        registry.AddActivityFunc<int, int>(NoopActivity, static (_, input) => input);
        return registry;
    }

    private static async Task<RunMeasurement> RunOnceAsync(string orchestrator, int count)
    {
        using var provider = new InMemoryStorageProvider();
        var worker = new DurableTaskWorker(provider, CreateRegistry(), new DurableTaskWorkerOptions { ExtendedSessionsEnabled = true });
        var client = new DurableTaskClient(provider);
        try
        {
            await worker.StartAsync(CancellationToken.None);
            using var timeout = new CancellationTokenSource(RunTimeout);

            var stopwatch = Stopwatch.StartNew();
            var instanceId = await client.ScheduleNewOrchestrationInstanceAsync(orchestrator, count, cancellationToken: timeout.Token);
            var metadata = await WaitAsync(client, instanceId, count, timeout.Token);
            stopwatch.Stop();

            Verify(client, metadata, orchestrator, count);
            var history = await client.GetOrchestrationHistoryAsync(instanceId, CancellationToken.None);

            // Statistics are counted after each commit returns, so read them once the worker has stopped.
            await StopAsync(worker);
            var statistics = worker.Statistics;
            return new RunMeasurement(
                stopwatch.Elapsed.TotalSeconds,
                history.Count,
                statistics.Episodes,
                statistics.CacheHits,
                statistics.CacheMisses,
                statistics.EventsReplayed,
                statistics.EventsApplied);
        }
        finally
        {
            // Stops the worker too when the run failed before StopAsync.
            await worker.DisposeAsync();
        }
    }

    /// <summary>Throws unless the orchestration completed with the sum 1 + 2 + … + count.</summary>
    internal static void Verify(DurableTaskClient client, Durable.Storage.OrchestrationMetadata metadata, string orchestrator, int count)
    {
        if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            throw new BenchFailedException(
                $"{orchestrator}({count}) ended {metadata.RuntimeStatus}: {metadata.FailureDetails?.ErrorMessage ?? metadata.SerializedOutput}");
        }

        var expected = (long)count * (count + 1) / 2;
        var output = metadata.ReadOutputAs<long>(client.DataConverter);
        if (output != expected)
        {
            throw new BenchFailedException($"{orchestrator}({count}) returned {output}, expected {expected}.");
        }
    }

    internal static async Task<Durable.Storage.OrchestrationMetadata> WaitAsync(DurableTaskClient client, string instanceId, int count, CancellationToken cancellationToken)
    {
        try
        {
            return await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var state = await client.GetInstanceAsync(instanceId, cancellationToken: CancellationToken.None);
            throw new BenchFailedException(
                $"instance {instanceId} (count {count}) did not finish within {RunTimeout.TotalMinutes:F0} minutes; status {state?.RuntimeStatus}.");
        }
    }

    internal static async Task StopAsync(DurableTaskWorker worker)
    {
        using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await worker.StopAsync(stopTimeout.Token);
    }
}

/// <summary>One measured run.</summary>
internal sealed record RunMeasurement(
    double WallSeconds,
    int HistoryEvents,
    long Episodes,
    long CacheHits,
    long CacheMisses,
    long EventsReplayed,
    long EventsApplied);

/// <summary>The figures of one count: the median wall time over the repeats and the counters of the median run.</summary>
internal sealed record EngineResult(int Count, double WallSeconds, IReadOnlyList<double> AllWallSeconds, RunMeasurement Median)
{
    public double ActivitiesPerSecond => Count / WallSeconds;

    public double MicrosPerActivity => WallSeconds * 1e6 / Count;

    public static EngineResult FromRuns(int count, IReadOnlyList<RunMeasurement> runs)
    {
        var sorted = runs.OrderBy(r => r.WallSeconds).ToArray();
        var middle = sorted[(sorted.Length - 1) / 2];
        var median = sorted.Length % 2 == 1
            ? middle.WallSeconds
            : (middle.WallSeconds + sorted[sorted.Length / 2].WallSeconds) / 2;
        return new EngineResult(count, median, runs.Select(r => r.WallSeconds).ToArray(), middle);
    }
}
