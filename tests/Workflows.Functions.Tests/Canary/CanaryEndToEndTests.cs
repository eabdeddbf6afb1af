using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Workflows.Functions.Canary;
using Workflows.Functions.Tests.Search;
using Workflows.ML.Canary;
using Workflows.ML.Onnx;
using Workflows.ML.Registry;
using Workflows.ML.Training;
using Workflows.Serving.Hosting;
using Xunit;

namespace Workflows.Functions.Tests.Canary;

/// <summary>
/// CanaryPromotion over HTTP against the real prediction service in this process, two versions of a linear ONNX model
/// in its registry, under a steady load of v2 inference requests.
/// </summary>
public sealed class CanaryEndToEndTests : IAsyncLifetime, IDisposable
{
    private const string AdminKey = "canary-end-to-end-admin-key";
    private const int Features = 4;
    private readonly string _root = Directory.CreateTempSubdirectory("wf-canary-e2e-").FullName;
    private LocalFolderModelRegistry _registry = null!;
    private WebApplication _serving = null!;
    private HttpClient _client = null!;
    private int _answered;
    private int _failed;

    public async Task InitializeAsync()
    {
        _registry = new LocalFolderModelRegistry(Path.Combine(_root, "models"));
        // 1 and 2 predict alike in distribution; 3 has its bias moved far, so its predictions crowd near 1.
        foreach (var (scale, bias) in new[] { (1f, 0f), (2f, 0f), (1f, 6f) })
        {
            var lineage = new ModelLineage("test", "none", new Dictionary<string, string>(), null);
            _ = await _registry.RegisterAsync(new ModelRegistration("m", "onnx", new Dictionary<string, double>(), lineage), LinearOnnx(scale, bias));
        }

        var builder = ServingApplication.CreateBuilder(
        [
            "--urls=http://127.0.0.1:0",
            "--WorkflowsDataRoot=" + _root,
            "--Serving:RegistryPollSeconds=0",
            "--Serving:AdminKey=" + AdminKey,
            "--Serving:CacheEntries=0",
        ]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        _serving = ServingApplication.Build(builder);
        await _serving.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(_serving.Urls.First().TrimEnd('/') + "/") };
        using var refresh = new HttpRequestMessage(HttpMethod.Post, "admin/refresh");
        refresh.Headers.Add("x-admin-key", AdminKey);
        (await _client.SendAsync(refresh)).EnsureSuccessStatusCode();
    }

    public void Dispose() => _client?.Dispose();

    public async Task DisposeAsync()
    {
        await _serving.StopAsync();
        await _serving.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task AGoodCandidateUnderLoad_IsPromoted_OnTheServicesOwnFigures()
    {
        using var admin = new HttpServingAdmin(_client.BaseAddress!, () => AdminKey);
        await using var harness = await SearchHarness.StartAsync(_registry, serving: admin);
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(worker => LoadAsync(worker, stop.Token)).ToArray();
        while (Volatile.Read(ref _answered) < 200)
        {
            await Task.Delay(20);
        }

        var input = new CanaryPromotionInput(
            "m",
            CandidateVersion: 2,
            Steps: [new(25, TimeSpan.FromSeconds(2)), new(100, TimeSpan.FromSeconds(1))],
            Checks:
            [
                // A shared 2-core machine may starve the load for a window: two thin windows are tolerated.
                new("error-rate", CheckKind.ErrorRate, 0.01, MinSamples: 5, InconclusiveLimit: 2),
                new("p99", CheckKind.LatencyP99, 2000, MinSamples: 5, InconclusiveLimit: 2),
                new("latency-vs-stable", CheckKind.LatencyMannWhitney, 1.0, MinSamples: 20, Alpha: 0.001, InconclusiveLimit: 2),
            ],
            AnalysisInterval: TimeSpan.FromSeconds(1),
            PostPromotionWindow: TimeSpan.FromSeconds(1));

        OrchestrationMetadata? result;
        var id = await harness.Client.ScheduleNewOrchestrationInstanceAsync(CanaryPromotionOrchestrator.Name, input);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            result = await harness.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            result = await harness.Client.GetInstanceAsync(id, getInputsAndOutputs: true);
            Assert.Fail($"still {result?.RuntimeStatus} after 60 s: {result?.SerializedCustomStatus}");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.True(output.Outcome == CanaryOutcome.Promoted, output.Reason + "\n" + string.Join("\n", output.Decisions.Select(d => d.Detail)));
        var route = await admin.GetRouteAsync("m", CancellationToken.None);
        Assert.Equal((2, (int?)null), (route!.Stable, route.Candidate));
        var measured = output.Steps.SelectMany(s => s.Analyses).SelectMany(a => a.Checks).ToList();
        Assert.All(measured, c => Assert.Contains(c.Measurement.Phase, new[] { MeasurementPhase.Successful, MeasurementPhase.Inconclusive }));
        Assert.All(input.Checks, check => Assert.Contains(measured, c => c.Name == check.Name && c.Measurement.Phase == MeasurementPhase.Successful));
        Assert.Contains(measured, c => c.Name == "latency-vs-stable" && c.Samples >= 20);
        Assert.Single(output.PostPromotion);
        Assert.Equal(0, _failed);
    }

    [Fact]
    public async Task ABadCandidateUnderLoad_IsRolledBack_AndNoRequestFails()
    {
        using var admin = new HttpServingAdmin(_client.BaseAddress!, () => AdminKey);
        await using var harness = await SearchHarness.StartAsync(_registry, serving: admin);
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(worker => LoadAsync(worker, stop.Token)).ToArray();
        while (Volatile.Read(ref _answered) < 200)
        {
            await Task.Delay(20);
        }

        var input = new CanaryPromotionInput(
            "m",
            CandidateVersion: 3,
            Steps: [new(50, TimeSpan.FromSeconds(5)), new(100, TimeSpan.FromSeconds(1))],
            Checks:
            [
                new("error-rate", CheckKind.ErrorRate, 0.01, MinSamples: 5, InconclusiveLimit: 4),
                new("predictions", CheckKind.PsiVsStable, 0.25, MinSamples: 100, InconclusiveLimit: 4),
            ],
            AnalysisInterval: TimeSpan.FromSeconds(1));

        OrchestrationMetadata? result;
        var id = await harness.Client.ScheduleNewOrchestrationInstanceAsync(CanaryPromotionOrchestrator.Name, input);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            result = await harness.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.True(output.Outcome == CanaryOutcome.RolledBack, output.Reason + "\n" + string.Join("\n", output.Decisions.Select(d => d.Detail)));
        Assert.Equal("predictions", Assert.Single(output.FailingChecks).Name);
        Assert.Single(output.Steps);
        var route = await admin.GetRouteAsync("m", CancellationToken.None);
        Assert.Equal((1, (int?)null), (route!.Stable, route.Candidate));
        Assert.Equal(0, _failed);
    }

    private async Task LoadAsync(int worker, CancellationToken cancellationToken)
    {
        var random = new Random(worker);
        var i = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var data = new JsonArray();
            for (var f = 0; f < Features; f++)
            {
                data.Add((float)(random.NextDouble() * 4 - 2));
            }

            var body = new JsonObject
            {
                ["inputs"] = new JsonArray(new JsonObject { ["name"] = "features", ["shape"] = new JsonArray(1, Features), ["datatype"] = "FP32", ["data"] = data }),
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, "v2/models/m/infer") { Content = JsonContent.Create(body) };
            request.Headers.Add("x-request-key", $"user-{worker}-{i++}");
            try
            {
                using var response = await _client.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    _ = Interlocked.Increment(ref _answered);
                }
                else
                {
                    _ = Interlocked.Increment(ref _failed);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException)
            {
                _ = Interlocked.Increment(ref _failed);
            }
        }
    }

    private static byte[] LinearOnnx(float scale, float biasShift)
    {
        var weights = new float[Features];
        var mean = new float[Features];
        var std = new float[Features];
        for (var i = 0; i < Features; i++)
        {
            weights[i] = scale * ((i % 3) - 1 + (0.25f * i));
            mean[i] = 0.1f * i;
            std[i] = 1f + (0.05f * i);
        }

        var state = TrainerState.FromParts(Features, 2, weights, [(0.3f * scale) + biasShift], 0, 0, [0, 0]);
        return OnnxModelExporter.Export(LogisticRegressionModel.FromState(state, new FeatureStandardization(mean, std)));
    }
}
