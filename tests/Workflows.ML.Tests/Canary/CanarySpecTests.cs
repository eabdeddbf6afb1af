using Workflows.ML.Canary;
using Xunit;

namespace Workflows.ML.Tests.Canary;

public sealed class CanarySpecTests
{
    private static readonly CanarySpec Valid = new(
        "churn",
        StableVersion: 3,
        CandidateVersion: 4,
        [new CanaryStep(10, TimeSpan.FromMinutes(5)), new CanaryStep(50, TimeSpan.FromMinutes(5)), new CanaryStep(100, TimeSpan.Zero)],
        [
            new CanaryCheck("errors", CheckKind.ErrorRate, 0.01, MinSamples: 100),
            new CanaryCheck("p99", CheckKind.LatencyP99, 250),
            new CanaryCheck("shadow", CheckKind.ShadowDisagreement, 0.05),
            new CanaryCheck("psi", CheckKind.PsiVsStable, 0.1, MinSamples: 100),
            new CanaryCheck("accuracy", CheckKind.LiveAccuracy, 0.8, MinSamples: 500),
            new CanaryCheck("latency", CheckKind.LatencyMannWhitney, 0.1, MinSamples: 30, Alpha: 0.05),
        ]);

    [Fact]
    public void Validate_AValidSpec_HasNoErrors()
    {
        Assert.Empty(Valid.Validate());
        Valid.EnsureValid();
    }

    [Theory]
    [InlineData(new[] { 10, 50 }, "steps[1].weight: the last step must send 100 %")]
    [InlineData(new[] { 50, 20, 100 }, "steps[1].weight: weights must increase; 20 follows 50")]
    [InlineData(new[] { 50, 50, 100 }, "steps[1].weight: weights must increase")]
    [InlineData(new[] { -1, 100 }, "steps[0].weight: must be between 0 and 100; got -1")]
    [InlineData(new[] { 20, 120 }, "steps[1].weight: must be between 0 and 100; got 120")]
    [InlineData(new int[0], "steps: a canary needs at least one step")]
    public void Validate_BadSteps_NameTheField(int[] weights, string error)
    {
        var spec = Valid with { Steps = [.. weights.Select(w => new CanaryStep(w, TimeSpan.Zero))] };

        Assert.Contains(spec.Validate(), e => e.StartsWith(error, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_CandidateIsStable_NamesTheField()
    {
        var errors = (Valid with { CandidateVersion = 3 }).Validate();

        Assert.Equal(["candidateVersion: the candidate must differ from the stable version (3)."], errors);
    }

    [Fact]
    public void Validate_BadChecks_NameTheCheckAndField()
    {
        var spec = Valid with
        {
            Checks =
            [
                new CanaryCheck("errors", CheckKind.ErrorRate, 1.5),
                new CanaryCheck("p99", CheckKind.LatencyP99, 0),
                new CanaryCheck("latency", CheckKind.LatencyMannWhitney, 0.1, MinSamples: 10, Alpha: 1),
                new CanaryCheck("limits", CheckKind.PsiVsStable, 0.2, MinSamples: 99, Count: 0, FailureLimit: -1, InconclusiveLimit: -1, ConsecutiveErrorLimit: -1),
                new CanaryCheck("errors", CheckKind.LiveAccuracy, double.NaN, MinSamples: -5),
            ],
        };

        var errors = spec.Validate();

        string[] expected =
        [
            "checks[0].threshold: ErrorRate needs a threshold between 0 and 1; got 1.5.",
            "checks[1].threshold: LatencyP99 needs a threshold a finite number above 0; got 0.",
            "checks[2].minSamples: the Mann–Whitney check needs at least 20 latencies per side; got 10.",
            "checks[2].alpha: must be between 0 and 1 (exclusive); got 1.",
            "checks[3].minSamples: the PSI check needs at least 100 predictions per side; got 99.",
            "checks[3].count: must be at least 1 when set; got 0.",
            "checks[3].failureLimit: must be at least 0; got -1.",
            "checks[3].inconclusiveLimit: must be at least 0; got -1.",
            "checks[3].consecutiveErrorLimit: must be at least 0; got -1.",
            "checks[4].threshold: LiveAccuracy needs a threshold between 0 and 1; got NaN.",
            "checks[4].minSamples: must be at least 0; got -5.",
            "checks[4].name: 'errors' is used by an earlier check.",
        ];
        Assert.Equal(expected, errors);
        Assert.Contains("checks[0].threshold", Assert.Throws<ArgumentException>(spec.EnsureValid).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NoChecksOrNoModel_AreErrors()
    {
        var errors = (Valid with { Model = " ", Checks = [], StableVersion = 0 }).Validate();

        Assert.Contains(errors, e => e.StartsWith("model:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("stableVersion:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("checks: a canary needs at least one check", StringComparison.Ordinal));
    }

    [Fact]
    public void Json_RoundTrip_KeepsTheSpec()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(Valid, System.Text.Json.JsonSerializerOptions.Web);

        var copy = System.Text.Json.JsonSerializer.Deserialize<CanarySpec>(json, System.Text.Json.JsonSerializerOptions.Web)!;

        Assert.Equal(Valid.Steps, copy.Steps);
        Assert.Equal(Valid.Checks, copy.Checks);
        Assert.Equal((Valid.Model, Valid.StableVersion, Valid.CandidateVersion), (copy.Model, copy.StableVersion, copy.CandidateVersion));
    }
}
