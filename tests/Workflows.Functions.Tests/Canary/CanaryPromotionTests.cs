using System.Text.Json;
using Microsoft.DurableTask.Client;
using Workflows.Functions.Canary;
using Workflows.Functions.Tests.Search;
using Workflows.ML.Canary;
using Workflows.ML.Registry;
using Xunit;

namespace Workflows.Functions.Tests.Canary;

/// <summary>
/// CanaryPromotion on the in-memory backend against <see cref="FakeServing"/> and a local registry holding versions 1
/// (stable) and 2 (candidate) of model "m". Windows are one second long, so each test takes seconds.
/// </summary>
public sealed class CanaryPromotionTests : IAsyncLifetime
{
    private const string Model = "m";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "workflows-canary-" + Guid.NewGuid().ToString("N"));
    private readonly LocalFolderModelRegistry _registry;
    private readonly FakeServing _serving = new(Model, 1, 2);

    public CanaryPromotionTests() => _registry = new LocalFolderModelRegistry(Path.Combine(_folder, "registry"));

    public async Task InitializeAsync()
    {
        for (var version = 1; version <= 2; version++)
        {
            var lineage = new ModelLineage("data", string.Empty, new Dictionary<string, string>(), null);
            _ = await _registry.RegisterAsync(new ModelRegistration(Model, "onnx", new Dictionary<string, double>(), lineage), new byte[] { (byte)version });
        }
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static CanaryCheck[] Checks() =>
    [
        new("error-rate", CheckKind.ErrorRate, 0.05, MinSamples: 10),
        new("p99", CheckKind.LatencyP99, 50, MinSamples: 10),
        new("latency-vs-stable", CheckKind.LatencyMannWhitney, 0.1, MinSamples: 20),
    ];

    private static CanaryPromotionInput Input() => new(
        Model,
        CandidateVersion: 2,
        Steps: [new(5, Second), new(25, Second), new(50, Second), new(100, Second)],
        Checks: Checks(),
        AnalysisInterval: Second,
        PostPromotionWindow: Second);

    public static TheoryData<string, string> BadInputs() => new()
    {
        { "last-step-not-100", "steps[2].weight: the last step must send 100 %" },
        { "threshold-out-of-range", "checks[0].threshold: ErrorRate needs a threshold between 0 and 1; got 1.5" },
        { "candidate-is-stable", "candidateVersion: the candidate must differ from the stable version (1)" },
        { "candidate-is-the-services-stable", "candidateVersion: the candidate must differ from the stable version (1)" },
        { "unknown-version", "candidateVersion: model 'm' has no version 7 in the registry" },
        { "unknown-model", "model: 'nope' is not in the model registry" },
        { "psi-too-few-samples", "checks[3].minSamples: the PSI check needs at least 100 predictions per side; got 1" },
        { "shadow-share-out-of-range", "shadowShare: a shadow disagreement check needs a share of requests above 0, at most 1; got 0" },
        { "wrong-stable", "stableVersion: the prediction service's stable version of 'm' is 1, not 2" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task BadInput_FailsWithTheReason_BeforeAnyTrafficMoves(string scenario, string expected)
    {
        var input = scenario switch
        {
            "last-step-not-100" => Input() with { Steps = [new(5, Second), new(25, Second), new(50, Second)] },
            "threshold-out-of-range" => Input() with { Checks = [new("error-rate", CheckKind.ErrorRate, 1.5)] },
            "candidate-is-stable" => Input() with { StableVersion = 1, CandidateVersion = 1 },
            "candidate-is-the-services-stable" => Input() with { CandidateVersion = 1 },
            "unknown-version" => Input() with { CandidateVersion = 7 },
            "unknown-model" => Input() with { Model = "nope" },
            "psi-too-few-samples" => Input() with { Checks = [.. Checks(), new("psi", CheckKind.PsiVsStable, 0.2)] },
            "shadow-share-out-of-range" => Input() with { Checks = [.. Checks(), new("disagreement", CheckKind.ShadowDisagreement, 0.1)], ShadowShare = 0 },
            "wrong-stable" => Input() with { StableVersion = 2, CandidateVersion = 1 },
            _ => throw new ArgumentOutOfRangeException(nameof(scenario)),
        };
        await using var harness = await StartAsync();

        var result = await harness.RunAsync(CanaryPromotionOrchestrator.Name, input);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains(expected, result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(_serving.Changes);
        Assert.Equal(0, harness.CallsOf(SetCanaryWeightActivity.Name));
        Assert.Equal(0, _serving.MetricReads);
    }

    [Fact]
    public async Task GoodCandidate_IsPromotedThroughEveryStep_ThenAnalysedAfterPromotion()
    {
        await using var harness = await StartAsync();

        var result = await harness.RunAsync(CanaryPromotionOrchestrator.Name, Input());

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.Promoted, output.Outcome);
        Assert.Equal(["weight 2=5", "weight 2=25", "weight 2=50", "weight 2=100", "promote 2"], _serving.Changes);
        Assert.Equal(2, _serving.Route.Stable);
        Assert.Equal((2, 100), (output.StableAtEnd, output.CandidateWeight));
        Assert.Equal([5, 25, 50, 100], output.Steps.Select(s => s.Weight));
        Assert.All(output.Steps, step => Assert.NotEmpty(step.Analyses));
        Assert.All(output.Steps.SelectMany(s => s.Analyses).SelectMany(a => a.Checks), c => Assert.Equal(MeasurementPhase.Successful, c.Measurement.Phase));

        // The Mann–Whitney comparison runs while the stable version has traffic, not at 100 % nor after promotion.
        Assert.Contains(output.Steps[0].Analyses[0].Checks, c => c.Name == "latency-vs-stable");
        Assert.DoesNotContain(output.Steps[3].Analyses[0].Checks, c => c.Name == "latency-vs-stable");
        var post = Assert.Single(output.PostPromotion);
        Assert.Equal(["error-rate", "p99"], post.Checks.Select(c => c.Name));
        Assert.Empty(output.FailingChecks);
        Assert.Equal(0.0, output.Steps[0].Analyses[0].Checks[0].Measurement.Value);
        Assert.Equal(output.Steps.Sum(s => s.Analyses.Count) + 1, harness.CallsOf(AnalyzeCanaryWindowActivity.Name));
        Assert.Equal(["start", "weight", "analysis"], output.Decisions.Take(3).Select(d => d.What));
        Assert.Equal("end", output.Decisions[^1].What);
    }

    [Fact]
    public async Task ACandidateRegisteredSinceTheServicesLastScan_IsLoadedByAScan_ThenCanaried()
    {
        var serving = new FakeServing(Model, 1);
        serving.Unscanned.Add(2);
        await using var harness = await SearchHarness.StartAsync(_registry, serving: serving);

        var result = await harness.RunAsync(CanaryPromotionOrchestrator.Name, Input());

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        Assert.Equal(CanaryOutcome.Promoted, result.ReadOutputAs<CanaryPromotionOutput>()!.Outcome);
        Assert.Equal(1, serving.Refreshes);
        Assert.Equal(2, serving.Route.Stable);
    }

    [Theory]
    [InlineData(0.5, CanaryOutcome.Promoted)]
    [InlineData(0.8, CanaryOutcome.RolledBack)]
    public async Task PsiVsStable_PassesTheSamePredictions_AndRollsBackShiftedOnes(double candidateMean, string outcome)
    {
        _serving.RequestsPerSecond = 4_000; // 5 % of it: 200 candidate predictions a window
        _serving.Behave(2, new FakeServing.Behaviour(0, 10, PredictionMean: candidateMean));
        await using var harness = await StartAsync();

        var result = await harness.RunAsync(
            CanaryPromotionOrchestrator.Name, Input() with { Checks = [.. Checks(), new("psi", CheckKind.PsiVsStable, 0.25, MinSamples: 150)] });

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(outcome, output.Outcome);
        var psi = output.Steps.SelectMany(s => s.Analyses).SelectMany(a => a.Checks).Where(c => c.Name == "psi").ToList();
        Assert.NotEmpty(psi);
        Assert.All(psi, c => Assert.True(c.Samples >= 150, c.ToString()));
        if (outcome == CanaryOutcome.Promoted)
        {
            Assert.All(psi, c => Assert.Equal(MeasurementPhase.Successful, c.Measurement.Phase));
            Assert.All(psi, c => Assert.InRange(c.Measurement.Value!.Value, 0, 0.25));
            // A comparison with the stable version's traffic: not measured at 100 %.
            Assert.DoesNotContain(output.Steps.Single(s => s.Weight == 100).Analyses.SelectMany(a => a.Checks), c => c.Name == "psi");
        }
        else
        {
            Assert.Equal(["weight 2=5", "candidate off"], _serving.Changes);
            var failing = Assert.Single(output.FailingChecks, c => c.Name == "psi");
            Assert.Equal(AnalysisPhase.Failed, failing.Phase);
            Assert.True(failing.Value > 1, failing.Message); // a 3-sd shift of the mean
        }
    }

    [Fact]
    public async Task PsiVsStable_WithFewerPredictionsThanMinSamples_IsInconclusive_AndHolds()
    {
        _serving.RequestsPerSecond = 400; // 20 candidate predictions a window at 5 %
        await using var harness = await StartAsync();
        var id = await harness.Client.ScheduleNewOrchestrationInstanceAsync(
            CanaryPromotionOrchestrator.Name, Input() with { Checks = [.. Checks(), new("psi", CheckKind.PsiVsStable, 0.25, MinSamples: 100)] });

        var holding = await WaitForStatusAsync(harness, id, status => status.Phase == "holding");
        await harness.Client.RaiseEventAsync(id, CanaryEvents.Abort, "too little traffic");
        await WaitAsync(harness, id);

        Assert.Equal(AnalysisPhase.Inconclusive, holding.LastAnalysis!.RunPhase);
        var psi = Assert.Single(holding.LastAnalysis.Checks, c => c.Name == "psi");
        Assert.Equal(MeasurementPhase.Inconclusive, psi.Measurement.Phase);
        Assert.Equal(20, psi.Samples);
    }

    [Theory]
    [InlineData(0.3, 10, "error-rate", 0.3)]
    [InlineData(0, 200, "p99", 250)]
    public async Task BadCandidate_IsRolledBackAtTheFirstWindow_WithTheFailingCheckAndItsValue(double errorRate, double latencyMs, string failing, double value)
    {
        _serving.Behave(2, new FakeServing.Behaviour(errorRate, latencyMs));
        await using var harness = await StartAsync();

        var result = await harness.RunAsync(CanaryPromotionOrchestrator.Name, Input());

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.RolledBack, output.Outcome);
        Assert.Equal(["weight 2=5", "candidate off"], _serving.Changes);
        Assert.Equal((1, null, 0.0), (_serving.Route.Stable, _serving.Route.Candidate, _serving.Route.CandidateWeight));
        Assert.Equal((1, 0), (output.StableAtEnd, output.CandidateWeight));
        var step = Assert.Single(output.Steps);
        var window = Assert.Single(step.Analyses);
        Assert.Equal(AnalysisPhase.Failed, window.RunPhase);
        var check = Assert.Single(output.FailingChecks, c => c.Name == failing);
        Assert.Equal(AnalysisPhase.Failed, check.Phase);
        Assert.Equal(value, check.Value!.Value, 6);
        if (latencyMs > 10)
        {
            // Slower than stable: the Mann–Whitney comparison fails as well, with the shift as its value.
            var compared = Assert.Single(output.FailingChecks, c => c.Name == "latency-vs-stable");
            Assert.Equal(AnalysisPhase.Failed, compared.Phase);
            Assert.True(compared.Value > 100, compared.Message);
        }

        Assert.Contains(failing, output.Reason, StringComparison.Ordinal);
        Assert.Contains(output.Decisions, d => d.What == "rollback");
        Assert.Equal(0, harness.CallsOf(PromoteCanaryActivity.Name));
    }

    [Fact]
    public async Task ARoutingChangeThatFailsOnce_IsRetried()
    {
        _serving.FailNextChanges = 1;
        await using var harness = await StartAsync();

        var result = await harness.RunAsync(CanaryPromotionOrchestrator.Name, Input() with { Steps = [new(100, Second)], PostPromotionWindow = TimeSpan.Zero });

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        Assert.Equal(CanaryOutcome.Promoted, result.ReadOutputAs<CanaryPromotionOutput>()!.Outcome);
        Assert.Equal(2, harness.CallsOf(SetCanaryWeightActivity.Name));
        Assert.Equal(["weight 2=100", "promote 2"], _serving.Changes);
    }

    [Fact]
    public async Task ARoutingChangeThatKeepsFailing_RollsBack_WithTheErrorAsTheReason()
    {
        _serving.RefuseCandidate = true;
        await using var harness = await StartAsync();

        var result = await harness.RunAsync(CanaryPromotionOrchestrator.Name, Input());

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.RolledBack, output.Outcome);
        Assert.StartsWith("setting the weight to 5 % failed:", output.Reason, StringComparison.Ordinal);
        Assert.Contains("connection refused", output.Reason, StringComparison.Ordinal);
        Assert.Equal(4 + 1, harness.CallsOf(SetCanaryWeightActivity.Name) + harness.CallsOf(RollbackCanaryActivity.Name));
        Assert.Empty(_serving.Changes); // nothing had moved, and the rollback finds nothing to undo
        Assert.Equal((1, (int?)null), (_serving.Route.Stable, _serving.Route.Candidate));
        Assert.Equal(0, harness.CallsOf(AnalyzeCanaryWindowActivity.Name));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.4)]
    public async Task ShadowDisagreement_MirrorsTheStableVersionsRequestsToTheCandidate_BelowFullWeight(double disagreement)
    {
        _serving.Behave(2, new FakeServing.Behaviour(0, 10, Disagreement: disagreement));
        await using var harness = await StartAsync();
        var input = Input() with
        {
            Steps = [new(20, Second), new(100, Second)],
            Checks = [.. Checks(), new("disagreement", CheckKind.ShadowDisagreement, 0.1, MinSamples: 50)],
            ShadowShare = 0.5,
        };

        var result = await harness.RunAsync(CanaryPromotionOrchestrator.Name, input);

        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        var first = output.Steps[0].Analyses[0].Checks.Single(c => c.Name == "disagreement");
        Assert.Equal(160, first.Samples); // 400 requests/s, 80 % answered by the stable version, half of them mirrored
        Assert.Equal(disagreement, first.Measurement.Value!.Value, 6);
        if (disagreement == 0)
        {
            Assert.Equal(CanaryOutcome.Promoted, output.Outcome);
            Assert.Equal(["weight 2=20 shadow 2@50", "weight 2=100 shadow off", "promote 2"], _serving.Changes);
            Assert.DoesNotContain(output.Steps[1].Analyses[0].Checks, c => c.Name == "disagreement");
        }
        else
        {
            Assert.Equal(CanaryOutcome.RolledBack, output.Outcome);
            Assert.Equal(AnalysisPhase.Failed, Assert.Single(output.FailingChecks, c => c.Name == "disagreement").Phase);
            Assert.Equal(["weight 2=20 shadow 2@50", "candidate off shadow off"], _serving.Changes);
        }

        Assert.Null(_serving.Route.Shadow);
    }

    [Fact]
    public async Task Freeze_LeavesTheWeightsWhereTheyAre_AndEndsWithTheReason()
    {
        _serving.Behave(2, new FakeServing.Behaviour(0.5, 10));
        await using var harness = await StartAsync();

        var result = await harness.RunAsync(CanaryPromotionOrchestrator.Name, Input() with { OnFailure = CanaryPromotionInput.Freeze });

        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.Frozen, output.Outcome);
        Assert.Equal(["weight 2=5"], _serving.Changes);
        Assert.Equal((1, 2, 0.05), (_serving.Route.Stable, _serving.Route.Candidate, _serving.Route.CandidateWeight));
        Assert.Equal(5, output.CandidateWeight);
        Assert.Contains("error-rate", output.Reason, StringComparison.Ordinal);
        Assert.Equal(0, harness.CallsOf(RollbackCanaryActivity.Name));
    }

    [Fact]
    public async Task NoData_IsInconclusive_NeverAPass_AndHoldsForAPerson_ThenAbortRollsBack()
    {
        _serving.RequestsPerSecond = 0;
        await using var harness = await StartAsync();
        var id = await harness.Client.ScheduleNewOrchestrationInstanceAsync(CanaryPromotionOrchestrator.Name, Input());

        var holding = await WaitForStatusAsync(harness, id, status => status.Phase == "holding");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var still = await harness.Client.GetInstanceAsync(id, getInputsAndOutputs: true);
        await harness.Client.RaiseEventAsync(id, CanaryEvents.Abort, "no traffic to judge");
        var result = await WaitAsync(harness, id);

        Assert.Equal(0, holding.Step);
        Assert.Equal(AnalysisPhase.Inconclusive, holding.LastAnalysis!.RunPhase);
        Assert.All(holding.LastAnalysis.Checks, c => Assert.Equal(MeasurementPhase.Inconclusive, c.Measurement.Phase));
        Assert.Equal("holding", Status(still).Phase); // nothing moves while it holds
        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.Aborted, output.Outcome);
        Assert.Equal("aborted: no traffic to judge", output.Reason);
        Assert.Equal(["weight 2=5", "candidate off"], _serving.Changes);
        Assert.Equal(1, harness.CallsOf(AnalyzeCanaryWindowActivity.Name));
    }

    [Fact]
    public async Task AnApprovalReleasesAHold_ANewRunStarts_AndItsWindowsStartFromThen()
    {
        _serving.RequestsPerSecond = 0;
        await using var harness = await StartAsync();
        var id = await harness.Client.ScheduleNewOrchestrationInstanceAsync(CanaryPromotionOrchestrator.Name, Input() with { Steps = [new(10, TimeSpan.FromSeconds(3)), new(100, Second)] });

        _ = await WaitForStatusAsync(harness, id, status => status.Phase == "holding");
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        _serving.RequestsPerSecond = 400;
        await harness.Client.RaiseEventAsync(id, CanaryEvents.Approve, "traffic is back");
        var result = await WaitAsync(harness, id);

        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.Promoted, output.Outcome);
        var windows = output.Steps[0].Analyses;
        Assert.Equal(3, windows.Count); // the inconclusive one, then the rest of the step's pause in a new run
        Assert.Equal(AnalysisPhase.Inconclusive, windows[0].RunPhase);
        Assert.True(windows[1].From - windows[0].To >= TimeSpan.FromSeconds(2), "the window after the hold spans the hold");
        Assert.Equal(Second, windows[1].To - windows[1].From);
        Assert.All(windows[1].Checks, c => Assert.Equal(MeasurementPhase.Successful, c.Measurement.Phase));
        Assert.Contains(output.Decisions, d => d.What == "event" && d.Detail == "approve: traffic is back");
        Assert.Contains(output.Decisions, d => d.Detail.StartsWith("windows start again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NoData_WithinTheInconclusiveLimit_DoesNotHold_AndTheRunIsJudgedOnTheDataThatCame()
    {
        _serving.RequestsPerSecond = 0;
        var checks = Checks().Select(c => c with { InconclusiveLimit = 1 }).ToArray();
        await using var harness = await StartAsync(async name =>
        {
            // Traffic starts after the first window was analysed.
            if (name == AnalyzeCanaryWindowActivity.Name && _serving.MetricReads == 1)
            {
                _serving.RequestsPerSecond = 400;
            }

            await Task.CompletedTask;
        });

        var result = await harness.RunAsync(CanaryPromotionOrchestrator.Name, Input() with { Checks = checks, PostPromotionWindow = TimeSpan.Zero });

        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.Promoted, output.Outcome);
        Assert.All(output.Steps[0].Analyses[0].Checks, c => Assert.Equal(MeasurementPhase.Inconclusive, c.Measurement.Phase));
        Assert.Equal(AnalysisPhase.Running, output.Steps[0].Analyses[0].RunPhase);
        Assert.Empty(output.PostPromotion);
    }

    [Fact]
    public async Task MetricsThatCannotBeRead_AreErrors_AndBeyondTheLimitRollBack()
    {
        _serving.MetricsFailure = new HttpRequestException("connection refused");
        var checks = Checks().Select(c => c with { ConsecutiveErrorLimit = 1 }).ToArray();
        await using var harness = await StartAsync();

        var result = await harness.RunAsync(CanaryPromotionOrchestrator.Name, Input() with { Checks = checks, Steps = [new(10, TimeSpan.FromSeconds(5)), new(100, Second)] });

        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.RolledBack, output.Outcome);
        var analyses = Assert.Single(output.Steps).Analyses;
        Assert.Equal(2, analyses.Count); // one error is allowed in a row, the second is not
        Assert.Equal(AnalysisPhase.Running, analyses[0].RunPhase);
        Assert.Equal(AnalysisPhase.Error, analyses[1].RunPhase);
        Assert.All(analyses.SelectMany(a => a.Checks), c => Assert.Contains("connection refused", c.Measurement.Message, StringComparison.Ordinal));
        Assert.All(output.FailingChecks, c => Assert.Equal(AnalysisPhase.Error, c.Phase));
        Assert.Equal(["weight 2=10", "candidate off"], _serving.Changes);
    }

    [Fact]
    public async Task AbortEvent_MidStep_RollsBackAtOnce()
    {
        await using var harness = await StartAsync();
        var id = await harness.Client.ScheduleNewOrchestrationInstanceAsync(
            CanaryPromotionOrchestrator.Name, Input() with { Steps = [new(25, TimeSpan.FromMinutes(10)), new(100, Second)], AnalysisInterval = TimeSpan.FromMinutes(1) });

        _ = await WaitForStatusAsync(harness, id, status => status.Weight == 25 && status.Waiting == "the window's end");
        await harness.Client.RaiseEventAsync(id, CanaryEvents.Abort, new { reason = "saw bad dashboards" });
        var result = await WaitAsync(harness, id);

        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.Aborted, output.Outcome);
        Assert.Equal("aborted: saw bad dashboards", output.Reason);
        Assert.Equal(["weight 2=25", "candidate off"], _serving.Changes);
        Assert.Equal(0, harness.CallsOf(AnalyzeCanaryWindowActivity.Name));
        Assert.Equal(0, harness.CallsOf(PromoteCanaryActivity.Name));
    }

    [Fact]
    public async Task AbortAfterPromotion_SendsTheStableVersionBack()
    {
        await using var harness = await StartAsync();
        var id = await harness.Client.ScheduleNewOrchestrationInstanceAsync(
            CanaryPromotionOrchestrator.Name, Input() with { Steps = [new(50, Second), new(100, Second)], PostPromotionWindow = TimeSpan.FromMinutes(10) });

        _ = await WaitForStatusAsync(harness, id, status => status.Phase == "post-promotion");
        Assert.Equal(2, _serving.Route.Stable);
        await harness.Client.RaiseEventAsync(id, CanaryEvents.Abort);
        var result = await WaitAsync(harness, id);

        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.Aborted, output.Outcome);
        Assert.Equal(["weight 2=50", "weight 2=100", "promote 2", "promote 1"], _serving.Changes);
        Assert.Equal(1, _serving.Route.Stable);
        Assert.Equal((1, 0), (output.StableAtEnd, output.CandidateWeight));
    }

    [Fact]
    public async Task ManualStep_WaitsForApproval_PauseHoldsIt_ResumeLetsItGo()
    {
        await using var harness = await StartAsync();
        var input = Input() with { Steps = [new(50, Second, Manual: true), new(100, Second)], PostPromotionWindow = TimeSpan.Zero };
        var id = await harness.Client.ScheduleNewOrchestrationInstanceAsync(CanaryPromotionOrchestrator.Name, input);

        // Past its pause, the manual step keeps analysing while it waits.
        var waiting = await WaitForStatusAsync(harness, id, status => status.Waiting.StartsWith("approve", StringComparison.Ordinal) && harness.CallsOf(AnalyzeCanaryWindowActivity.Name) >= 2);
        Assert.Equal(["weight 2=50"], _serving.Changes);
        await harness.Client.RaiseEventAsync(id, CanaryEvents.Pause);
        _ = await WaitForStatusAsync(harness, id, status => status.Paused);
        await harness.Client.RaiseEventAsync(id, CanaryEvents.Approve);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var paused = Status(await harness.Client.GetInstanceAsync(id, getInputsAndOutputs: true));
        Assert.Equal(["weight 2=50"], _serving.Changes); // approved, but paused
        await harness.Client.RaiseEventAsync(id, CanaryEvents.Resume);
        var result = await WaitAsync(harness, id);

        Assert.Equal(0, waiting.Step);
        Assert.True(paused.Paused);
        Assert.Equal(0, paused.Step);
        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.Promoted, output.Outcome);
        Assert.Equal(["weight 2=50", "weight 2=100", "promote 2"], _serving.Changes);
        Assert.True(output.Steps[0].Analyses.Count >= 4);
        Assert.Equal(
            ["pause", "approve", "resume"],
            output.Decisions.Where(d => d.What == "event").Select(d => d.Detail));
    }

    [Fact]
    public async Task AWorkerThatStopsMidPromotion_IsReplacedByOne_ThatCarriesOnFromTheHistory()
    {
        await using var harness = await StartAsync();
        var input = Input() with { Steps = [new(5, Second), new(25, TimeSpan.FromSeconds(3)), new(100, Second)] };
        var id = await harness.Client.ScheduleNewOrchestrationInstanceAsync(CanaryPromotionOrchestrator.Name, input);

        _ = await WaitForStatusAsync(harness, id, status => status.Step == 1 && status.LastAnalysis?.Weight == 25);
        await harness.RestartWorkerAsync();
        var result = await WaitAsync(harness, id);

        var output = result.ReadOutputAs<CanaryPromotionOutput>()!;
        Assert.Equal(CanaryOutcome.Promoted, output.Outcome);
        Assert.Equal(["weight 2=5", "weight 2=25", "weight 2=100", "promote 2"], _serving.Changes);
        Assert.Equal([5, 25, 100], output.Steps.Select(s => s.Weight));
        Assert.Equal(3, output.Steps[1].Analyses.Count); // the windows of the step it was in, none lost or repeated
        var windows = output.Steps.SelectMany(s => s.Analyses).Concat(output.PostPromotion).ToList();
        Assert.All(windows.Skip(1).Zip(windows), pair => Assert.True(pair.First.From >= pair.Second.To, "windows overlap"));
    }

    private Task<SearchHarness> StartAsync(Func<string, Task>? beforeActivity = null) => SearchHarness.StartAsync(_registry, beforeActivity, _serving);

    private static CanaryStatus Status(OrchestrationMetadata? metadata) =>
        JsonSerializer.Deserialize<CanaryStatus>(metadata?.SerializedCustomStatus ?? "null", JsonSerializerOptions.Web)
        ?? new CanaryStatus(string.Empty, -1, 0, false, string.Empty, null);

    private static async Task<CanaryStatus> WaitForStatusAsync(SearchHarness harness, string id, Func<CanaryStatus, bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var metadata = await harness.Client.GetInstanceAsync(id, getInputsAndOutputs: true, timeout.Token);
            Assert.False(metadata?.IsCompleted ?? false, $"the instance ended: {metadata?.RuntimeStatus} {metadata?.SerializedOutput} {metadata?.FailureDetails?.ErrorMessage}");
            var status = Status(metadata);
            if (condition(status))
            {
                return status;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    private static async Task<OrchestrationMetadata> WaitAsync(SearchHarness harness, string id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var result = await harness.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        return result;
    }
}
