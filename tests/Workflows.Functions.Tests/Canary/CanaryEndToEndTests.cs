using Microsoft.DurableTask.Client;
using Workflows.Functions.Canary;
using Workflows.Functions.Tests.Search;
using Workflows.ML.Canary;
using Workflows.ML.Registry;
using Workflows.Testing;
using Xunit;

namespace Workflows.Functions.Tests.Canary;

/// <summary>
/// CanaryPromotion over HTTP against the real prediction service in this process, three versions of a linear ONNX
/// model in its registry, under a steady load of v2 inference requests none of which may fail.
/// </summary>
public sealed class CanaryEndToEndTests : IAsyncLifetime
{
    private const int Features = 4;
    private readonly string _root = Directory.CreateTempSubdirectory("wf-canary-e2e-").FullName;
    private LocalFolderModelRegistry _registry = null!;
    private InProcessServing _serving = null!;

    public async Task InitializeAsync()
    {
        _registry = new LocalFolderModelRegistry(Path.Combine(_root, "models"));

        // 1 and 2 predict alike in distribution; 3 has its bias moved far, so its predictions crowd near 1.
        foreach (var (scale, bias) in new[] { (1f, 0f), (2f, 0f), (1f, 6f) })
        {
            var lineage = new ModelLineage("test", "none", new Dictionary<string, string>(), null);
            _ = await _registry.RegisterAsync(new ModelRegistration("m", "onnx", new Dictionary<string, double>(), lineage), TestModels.LinearOnnx(Features, scale, bias));
        }

        _serving = await InProcessServing.StartAsync(_root);
        await _serving.AdminAsync(HttpMethod.Post, "admin/refresh");
    }

    public async Task DisposeAsync()
    {
        await _serving.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task AGoodCandidateUnderLoad_IsPromoted_OnTheServicesOwnFigures()
    {
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

        var (output, route) = await CanaryUnderLoadAsync(input);

        Assert.True(output.Outcome == CanaryOutcome.Promoted, output.Reason + "\n" + string.Join("\n", output.Decisions.Select(d => d.Detail)));
        Assert.Equal((2, (int?)null), (route.Stable, route.Candidate));
        var measured = output.Steps.SelectMany(s => s.Analyses).SelectMany(a => a.Checks).ToList();
        Assert.All(measured, c => Assert.Contains(c.Measurement.Phase, new[] { MeasurementPhase.Successful, MeasurementPhase.Inconclusive }));
        Assert.All(input.Checks, check => Assert.Contains(measured, c => c.Name == check.Name && c.Measurement.Phase == MeasurementPhase.Successful));
        Assert.Contains(measured, c => c.Name == "latency-vs-stable" && c.Samples >= 20);
        Assert.Single(output.PostPromotion);
    }

    [Fact]
    public async Task ABadCandidateUnderLoad_IsRolledBack_AndNoRequestFails()
    {
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

        var (output, route) = await CanaryUnderLoadAsync(input);

        Assert.True(output.Outcome == CanaryOutcome.RolledBack, output.Reason + "\n" + string.Join("\n", output.Decisions.Select(d => d.Detail)));
        Assert.Equal("predictions", Assert.Single(output.FailingChecks).Name);
        Assert.Single(output.Steps);
        Assert.Equal((1, (int?)null), (route.Stable, route.Candidate));
    }

    /// <summary>
    /// Runs the canary to its end over HTTP against the service while four request loops keep it loaded; returns its
    /// output and the service's routing after it. No request of the load may fail.
    /// </summary>
    private async Task<(CanaryPromotionOutput Output, ServingRoute Route)> CanaryUnderLoadAsync(CanaryPromotionInput input)
    {
        using var admin = new HttpServingAdmin(_serving.Http.BaseAddress!, () => InProcessServing.AdminKey);
        await using var harness = await SearchHarness.StartAsync(_registry, serving: admin);
        _serving.StartLoad("m", Features, center: 0, workers: 4);
        await _serving.WaitForAnswersAsync(200);

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
            await _serving.StopLoadAsync();
        }

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        Assert.True(_serving.Failed == 0, $"{_serving.Failed} of {_serving.Answered + _serving.Failed} requests failed; the first: {_serving.FirstFailure}");
        return (result.ReadOutputAs<CanaryPromotionOutput>()!, (await admin.GetRouteAsync("m", CancellationToken.None))!);
    }
}
