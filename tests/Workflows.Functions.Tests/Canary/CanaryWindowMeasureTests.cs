using Workflows.Functions.Canary;
using Workflows.ML.Canary;
using Xunit;

namespace Workflows.Functions.Tests.Canary;

/// <summary>How one window's figures from the prediction service become measurements, and the input's own checks.</summary>
public sealed class CanaryWindowMeasureTests
{
    private static readonly DateTime From = new(2026, 12, 6, 8, 0, 0, DateTimeKind.Utc);

    private static AnalyzeCanaryWindowInput Input(params CanaryCheck[] checks) => new("m", 1, 2, checks, From, From.AddMinutes(1));

    private static ServingVersionFigures Figures(int version, long requests, long errors, double latencyMs, bool complete = true, long labelled = 0, double? accuracy = null) =>
        new(version, complete, requests, errors, requests == 0 ? null : latencyMs, labelled, accuracy, requests == 0 ? [] : [new ServingLatencyBucket(latencyMs * 0.9, requests / 2), new ServingLatencyBucket(latencyMs, requests - (requests / 2))]);

    [Fact]
    public void ErrorRate_IsErrorsOverEveryAttempt_AndP99AndAccuracyAreTheCandidates()
    {
        var window = new ServingWindow([Figures(1, 1000, 0, 5), Figures(2, 90, 10, 30, labelled: 50, accuracy: 0.8)]);

        var measured = AnalyzeCanaryWindowActivity.Measure(
            Input(new("errors", CheckKind.ErrorRate, 0.05), new("p99", CheckKind.LatencyP99, 20), new("accuracy", CheckKind.LiveAccuracy, 0.75, MinSamples: 50)),
            window);

        Assert.Equal((MeasurementPhase.Failed, 0.1, 100L), (measured[0].Measurement.Phase, measured[0].Measurement.Value!.Value, measured[0].Samples));
        Assert.Equal((MeasurementPhase.Failed, 30.0, 90L), (measured[1].Measurement.Phase, measured[1].Measurement.Value!.Value, measured[1].Samples));
        Assert.Equal((MeasurementPhase.Successful, 0.8, 50L), (measured[2].Measurement.Phase, measured[2].Measurement.Value!.Value, measured[2].Samples));
    }

    [Fact]
    public void NoRequests_AreInconclusive_AndAWindowTheServiceDoesNotHoldOrAVersionItHasNotLoaded_AreErrors()
    {
        CanaryCheck[] checks = [new("errors", CheckKind.ErrorRate, 0.05), new("slower", CheckKind.LatencyMannWhitney, 0.1, MinSamples: 20)];

        var empty = AnalyzeCanaryWindowActivity.Measure(Input(checks), new ServingWindow([Figures(1, 0, 0, 5), Figures(2, 0, 0, 5)]));
        var incomplete = AnalyzeCanaryWindowActivity.Measure(Input(checks), new ServingWindow([Figures(1, 100, 0, 5), Figures(2, 100, 0, 5, complete: false)]));
        var stableIncomplete = AnalyzeCanaryWindowActivity.Measure(Input(checks), new ServingWindow([Figures(1, 100, 0, 5, complete: false), Figures(2, 100, 0, 5)]));
        var notLoaded = AnalyzeCanaryWindowActivity.Measure(Input(checks), new ServingWindow([Figures(1, 100, 0, 5)]));

        Assert.All(empty, m => Assert.Equal(MeasurementPhase.Inconclusive, m.Measurement.Phase));
        Assert.All(incomplete, m => Assert.Equal(MeasurementPhase.Error, m.Measurement.Phase));
        Assert.Equal([MeasurementPhase.Successful, MeasurementPhase.Error], stableIncomplete.Select(m => m.Measurement.Phase));
        Assert.All(notLoaded, m => Assert.Contains("no figures for version 2", m.Measurement.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void MannWhitney_FromHistograms_FailsASlowerCandidate_AndPassesAnEqualOne()
    {
        var check = new CanaryCheck("slower", CheckKind.LatencyMannWhitney, 0.1, MinSamples: 20);

        var slower = AnalyzeCanaryWindowActivity.Measure(Input(check), new ServingWindow([Figures(1, 400, 0, 10), Figures(2, 40, 0, 20)]));
        var same = AnalyzeCanaryWindowActivity.Measure(Input(check), new ServingWindow([Figures(1, 400, 0, 10), Figures(2, 40, 0, 10)]));

        Assert.Equal(MeasurementPhase.Failed, slower[0].Measurement.Phase);
        Assert.True(slower[0].Measurement.Value > 5, slower[0].Measurement.Message);
        Assert.Equal(40, slower[0].Samples);
        Assert.Equal(MeasurementPhase.Successful, same[0].Measurement.Phase);
    }

    [Fact]
    public void PsiVsStable_FromBothVersionsPredictions_PassesTheSame_FailsAShift_AndTooFewOrUnreadableAreNotAPass()
    {
        var check = new CanaryCheck("psi", CheckKind.PsiVsStable, 0.25, MinSamples: 200);
        var window = new ServingWindow([Figures(1, 1000, 0, 5), Figures(2, 300, 0, 5)]);
        var stable = Normal(1_000, 0.5, seed: 1);

        var same = AnalyzeCanaryWindowActivity.Measure(Input(check), window, new WindowPredictions(Normal(300, 0.5, seed: 2), stable, null));
        var shifted = AnalyzeCanaryWindowActivity.Measure(Input(check), window, new WindowPredictions(Normal(300, 0.6, seed: 3), stable, null));
        var few = AnalyzeCanaryWindowActivity.Measure(Input(check), window, new WindowPredictions(Normal(150, 0.9, seed: 4), stable, null));
        var none = AnalyzeCanaryWindowActivity.Measure(Input(check), window, new WindowPredictions([], stable, null));
        var unreadable = AnalyzeCanaryWindowActivity.Measure(Input(check), window, new WindowPredictions([], [], "connection refused"));
        var stableIncomplete = AnalyzeCanaryWindowActivity.Measure(
            Input(check), new ServingWindow([Figures(1, 1000, 0, 5, complete: false), Figures(2, 300, 0, 5)]), new WindowPredictions(stable, stable, null));

        Assert.Equal((MeasurementPhase.Successful, 300L), (same[0].Measurement.Phase, same[0].Samples));
        Assert.InRange(same[0].Measurement.Value!.Value, 0, 0.1);
        Assert.Equal(MeasurementPhase.Failed, shifted[0].Measurement.Phase);
        Assert.True(shifted[0].Measurement.Value > 0.25, shifted[0].Measurement.Message);
        Assert.Equal((MeasurementPhase.Inconclusive, 150L), (few[0].Measurement.Phase, few[0].Samples));
        Assert.Equal(MeasurementPhase.Inconclusive, none[0].Measurement.Phase);
        Assert.Equal(MeasurementPhase.Error, unreadable[0].Measurement.Phase);
        Assert.Contains("connection refused", unreadable[0].Measurement.Message, StringComparison.Ordinal);
        Assert.Equal(MeasurementPhase.Error, stableIncomplete[0].Measurement.Phase);
    }

    private static float[] Normal(int count, double mean, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)(mean + (0.1 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))))];
    }

    [Fact]
    public void Latencies_StandEachRequestAtItsBucket_AndScaleBigHistogramsDown()
    {
        var small = AnalyzeCanaryWindowActivity.Latencies([new(1, 2), new(4, 1)]);
        var big = AnalyzeCanaryWindowActivity.Latencies([new(1, 300_000), new(2, 100_000)]);

        Assert.Equal([1.0, 1.0, 4.0], small);
        Assert.Equal(AnalyzeCanaryWindowActivity.MaxLatencySamples, big.Count);
        Assert.Equal(15_000, big.Count(v => v == 1));
    }

    [Fact]
    public void Input_Validate_NamesEachField_AndLeavesTheStableVersionForLater()
    {
        var input = new CanaryPromotionInput(
            "m",
            2,
            [new(50, TimeSpan.FromSeconds(1.5)), new(40, TimeSpan.FromSeconds(1))],
            [new("errors", CheckKind.ErrorRate, 2), new("psi", CheckKind.PsiVsStable, 0.2), new("shadow", CheckKind.ShadowDisagreement, 0.1)],
            TimeSpan.FromMilliseconds(500),
            PostPromotionWindow: TimeSpan.FromSeconds(-1),
            OnFailure: "panic");

        var errors = input.Validate(stableVersion: null);

        Assert.Contains(errors, e => e.StartsWith("steps[1].weight: weights must increase", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("steps[1].weight: the last step must send 100 %", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("steps[0].pause: must be a whole number of seconds", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("checks[0].threshold:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("checks[1].minSamples: the PSI check needs at least 100 predictions per side", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.StartsWith("checks[1].kind", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.StartsWith("checks[2].kind", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("analysisInterval:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("postPromotionWindow:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("onFailure:", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.StartsWith("stableVersion", StringComparison.Ordinal));
        Assert.Contains(input.Validate(stableVersion: 2), e => e.StartsWith("candidateVersion: the candidate must differ", StringComparison.Ordinal));
    }
}
