using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Workflows.DurableTask.InMemory;
using Workflows.Functions.Canary;
using Workflows.ML.Canary;
using Workflows.ML.Registry;
using Workflows.Serving.Hosting;
using Workflows.Serving.Models;

namespace Workflows.Bench;

/// <summary>
/// The <c>canary-load</c> scenario: the prediction service on Kestrel on a free loopback port with three versions of a
/// 100-feature linear ONNX model (1 stable; 2 predicting as 1 does; 3 with its bias moved so its predictions crowd near
/// 1), and the app's CanaryPromotion on the in-memory backend driving the service's admin API over HTTP. A loopback load
/// generator (<c>--concurrency</c> keep-alive connections, single-row v2 requests, every answer checked for 200) runs
/// without pause through two canaries: version 2 is promoted, then version 3 rolled back by its PSI check. Reports the
/// requests/s and latency the load saw through both and whether each canary ended as it must; a failed request fails
/// the run. The last line is one JSON object.
/// </summary>
internal static class CanaryLoadScenario
{
    private const string Model = "linear";
    private const string AdminKey = "canary-load-admin-key";
    private const double RequestsPerSecondTarget = 2_000;
    private static readonly TimeSpan CanaryTimeout = TimeSpan.FromMinutes(5);

    public static async Task<int> RunAsync(BenchArgs args)
    {
        args.AllowOnly("concurrency", "step-seconds", "warm-up");
        var concurrency = args.GetInt("concurrency", 16, 1);
        var stepSeconds = args.GetInt("step-seconds", 3, 1);
        var warmUp = args.GetInt("warm-up", 5, 0);
        Console.WriteLine($"canary-load benchmark: concurrency={concurrency} step-seconds={stepSeconds} warm-up={warmUp} processors={Environment.ProcessorCount}");
        var root = Directory.CreateTempSubdirectory("workflows-canary-load-").FullName;
        try
        {
            var registry = new LocalFolderModelRegistry(Path.Combine(root, "models"));
            foreach (var biasShift in new[] { 0f, 0f, 6f })
            {
                await ServeScenario.RegisterAsync(registry, Model, "onnx", ServeScenario.LinearOnnx(biasShift));
            }

            var builder = ServingApplication.CreateBuilder(
            [
                "--urls=http://127.0.0.1:0",
                "--WorkflowsDataRoot=" + root,
                "--Serving:RegistryPollSeconds=0",
                "--Serving:CacheEntries=0",
                "--Serving:AdminKey=" + AdminKey,
                "--Serving:BatchQueueCapacity=100000",
            ]);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            await using var app = ServingApplication.Build(builder);
            await app.StartAsync();
            await app.Services.GetRequiredService<ModelCatalog>().RefreshAsync(CancellationToken.None);
            var server = new Uri(app.Urls.First());
            using var admin = new HttpServingAdmin(server, () => AdminKey);
            using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions());
            await using var engine = await AppEngine.StartAsync(service, modelRegistry: registry, servingAdmin: admin);

            var path = $"v2/models/{Model}/infer";
            var bodies = ServeScenario.Bodies(seed: 5);
            await LoopbackLoadGenerator.RunAsync(server, path, bodies, concurrency, TimeSpan.FromSeconds(warmUp));

            using var stop = new CancellationTokenSource();
            var load = LoopbackLoadGenerator.RunAsync(server, path, bodies, concurrency, TimeSpan.MaxValue, stop.Token);
            var promotion = await CanaryAsync(engine.Client, load, candidate: 2, stepSeconds);
            var rollback = await CanaryAsync(engine.Client, load, candidate: 3, stepSeconds);
            await stop.CancelAsync();
            var (requests, seconds, latencies) = await load;
            var route = await admin.GetRouteAsync(Model, CancellationToken.None);
            await app.StopAsync();

            Array.Sort(latencies);
            var perSecond = requests / seconds;
            var p50 = latencies[latencies.Length / 2];
            var p99 = latencies[(int)(latencies.Length * 0.99)];
            Console.WriteLine($"promotion of 2: {promotion.Outcome} in {promotion.Seconds:F1} s; canary of 3: {rollback.Outcome} in {rollback.Seconds:F1} s ({rollback.Reason})");
            Console.WriteLine($"load through both: {requests:N0} requests in {seconds:F1} s, {perSecond:N0} requests/s, p50 {p50:F2} ms, p99 {p99:F2} ms, none failed");
            var outcomesRight = promotion.Outcome == CanaryOutcome.Promoted && rollback.Outcome == CanaryOutcome.RolledBack && route is { Stable: 2, Candidate: null };
            var met = outcomesRight && perSecond >= RequestsPerSecondTarget;
            Console.WriteLine($"target: >= {RequestsPerSecondTarget:N0} requests/s with no failed request through a promotion and a rollback: {(met ? "met" : "NOT met")}");
            var json = new JsonObject
            {
                ["scenario"] = "canary-load",
                ["concurrency"] = concurrency,
                ["stepSeconds"] = stepSeconds,
                ["processorCount"] = Environment.ProcessorCount,
                ["requests"] = requests,
                ["failedRequests"] = 0,
                ["seconds"] = Math.Round(seconds, 2),
                ["requestsPerSecond"] = Math.Round(perSecond),
                ["p50Ms"] = Math.Round(p50, 3),
                ["p99Ms"] = Math.Round(p99, 3),
                ["promotion"] = new JsonObject { ["outcome"] = promotion.Outcome, ["seconds"] = Math.Round(promotion.Seconds, 2) },
                ["rollback"] = new JsonObject { ["outcome"] = rollback.Outcome, ["seconds"] = Math.Round(rollback.Seconds, 2), ["reason"] = rollback.Reason },
                ["stableAtEnd"] = route?.Stable,
                ["targets"] = new JsonObject { ["requestsPerSecond"] = RequestsPerSecondTarget, ["met"] = met },
                ["loadAverage1m"] = StatsScenario.LoadAverage(),
            };
            Console.WriteLine(json.ToJsonString());
            return outcomesRight ? 0 : throw new BenchFailedException($"the canaries ended {promotion.Outcome} and {rollback.Outcome} (stable {route?.Stable}); expected Promoted then RolledBack");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Runs the canary of <paramref name="candidate"/> to its end while <paramref name="load"/> runs; a load that ends first (a failed request) fails the run.</summary>
    private static async Task<(string Outcome, string Reason, double Seconds)> CanaryAsync(DurableTaskClient client, Task load, int candidate, int stepSeconds)
    {
        var step = TimeSpan.FromSeconds(stepSeconds);
        var input = new CanaryPromotionInput(
            Model,
            candidate,
            Steps: [new(10, step), new(50, step), new(100, step)],
            Checks:
            [
                new("error-rate", CheckKind.ErrorRate, 0.001, MinSamples: 100, InconclusiveLimit: 3),
                new("p99", CheckKind.LatencyP99, 250, MinSamples: 100, InconclusiveLimit: 3),
                new("predictions", CheckKind.PsiVsStable, 0.25, MinSamples: 100, InconclusiveLimit: 3),
            ],
            AnalysisInterval: TimeSpan.FromSeconds(1));
        var wall = Stopwatch.StartNew();
        var id = await client.ScheduleNewOrchestrationInstanceAsync(CanaryPromotionOrchestrator.Name, input);
        using var timeout = new CancellationTokenSource(CanaryTimeout);
        var completion = client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        if (await Task.WhenAny(completion, load) == load)
        {
            await load; // rethrows the failed request
            throw new BenchFailedException("the load ended before the canary");
        }

        var result = await completion;
        if (result.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            throw new BenchFailedException($"the canary of {candidate} ended {result.RuntimeStatus}: {result.FailureDetails?.ErrorMessage}");
        }

        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        return (output.Outcome, output.Reason, wall.Elapsed.TotalSeconds);
    }
}
