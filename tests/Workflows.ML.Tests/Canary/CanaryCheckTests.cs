using Workflows.ML.Canary;
using Xunit;

namespace Workflows.ML.Tests.Canary;

public sealed class CanaryCheckTests
{
    [Theory]
    [InlineData(CheckKind.ErrorRate, 0.01, 0.009, MeasurementPhase.Successful)]
    [InlineData(CheckKind.ErrorRate, 0.01, 0.01, MeasurementPhase.Successful)]
    [InlineData(CheckKind.ErrorRate, 0.01, 0.011, MeasurementPhase.Failed)]
    [InlineData(CheckKind.LatencyP99, 250.0, 249.0, MeasurementPhase.Successful)]
    [InlineData(CheckKind.LatencyP99, 250.0, 251.0, MeasurementPhase.Failed)]
    [InlineData(CheckKind.ShadowDisagreement, 0.05, 0.2, MeasurementPhase.Failed)]
    [InlineData(CheckKind.PsiVsStable, 0.1, 0.02, MeasurementPhase.Successful)]
    [InlineData(CheckKind.LiveAccuracy, 0.9, 0.95, MeasurementPhase.Successful)]
    [InlineData(CheckKind.LiveAccuracy, 0.9, 0.9, MeasurementPhase.Successful)]
    [InlineData(CheckKind.LiveAccuracy, 0.9, 0.85, MeasurementPhase.Failed)]
    public void Measure_ValueAgainstThreshold(CheckKind kind, double threshold, double value, MeasurementPhase phase)
    {
        var check = new CanaryCheck("c", kind, threshold, MinSamples: 100);

        var measurement = check.Measure(new MetricObservation(value, Samples: 100));

        Assert.Equal(phase, measurement.Phase);
        Assert.Equal(value, measurement.Value);
    }

    [Fact]
    public void Measure_NoDataOrTooFewSamples_IsInconclusive()
    {
        var accuracy = new CanaryCheck("accuracy", CheckKind.LiveAccuracy, 0.9, MinSamples: 200);

        Assert.Equal(MeasurementPhase.Inconclusive, accuracy.Measure(new MetricObservation(0.99, Samples: 199)).Phase);
        Assert.Equal(MeasurementPhase.Inconclusive, accuracy.Measure(new MetricObservation(null, Samples: 0)).Phase);
        Assert.Equal(MeasurementPhase.Inconclusive, accuracy.Measure(new MetricObservation(double.NaN, Samples: 500)).Phase);
        Assert.Contains("199", accuracy.Measure(new MetricObservation(0.99, Samples: 199)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Measure_AnErroredObservation_IsErrorNeverAPass()
    {
        var check = new CanaryCheck("errors", CheckKind.ErrorRate, 0.5);

        var measurement = check.Measure(MetricObservation.Failure("metrics endpoint answered 503"));

        Assert.Equal(MeasurementPhase.Error, measurement.Phase);
        Assert.Equal("metrics endpoint answered 503", measurement.Message);
    }

    [Fact]
    public void Measure_MannWhitney_SlowerCandidateFails_SameOrFasterPasses()
    {
        var check = new CanaryCheck("latency", CheckKind.LatencyMannWhitney, Threshold: 0.1, MinSamples: 20, Alpha: 0.05);
        var stable = TestData.Normal(seed: 1, count: 200, mean: 100, std: 10);
        var same = TestData.Normal(seed: 2, count: 200, mean: 100, std: 10);
        var slower = TestData.Normal(seed: 3, count: 200, mean: 125, std: 10);
        var faster = TestData.Normal(seed: 4, count: 200, mean: 80, std: 10);
        var slightlySlower = TestData.Normal(seed: 5, count: 2_000, mean: 104, std: 10);

        Assert.Equal(MeasurementPhase.Successful, check.Measure(new MetricObservation(Candidate: same, Stable: stable)).Phase);
        var failed = check.Measure(new MetricObservation(Candidate: slower, Stable: stable));
        Assert.Equal(MeasurementPhase.Failed, failed.Phase);
        Assert.InRange(failed.Value!.Value, 20, 30);
        Assert.Equal(MeasurementPhase.Successful, check.Measure(new MetricObservation(Candidate: faster, Stable: stable)).Phase);

        // Significantly slower, but by about 4 ms where 10 % of the stable median (about 10 ms) is allowed.
        Assert.Equal(MeasurementPhase.Successful, check.Measure(new MetricObservation(Candidate: slightlySlower, Stable: stable)).Phase);
    }

    [Fact]
    public void Measure_MannWhitney_FewLatenciesOrBadOnes()
    {
        var check = new CanaryCheck("latency", CheckKind.LatencyMannWhitney, Threshold: 0.1, MinSamples: 20);
        var twenty = TestData.Normal(seed: 1, count: 20, mean: 100, std: 10);

        Assert.Equal(MeasurementPhase.Inconclusive, check.Measure(new MetricObservation(Candidate: twenty[..19], Stable: twenty)).Phase);
        Assert.Equal(MeasurementPhase.Inconclusive, check.Measure(new MetricObservation()).Phase);
        Assert.Equal(MeasurementPhase.Error, check.Measure(new MetricObservation(Candidate: [.. twenty[..19], double.NaN], Stable: twenty)).Phase);
    }

    [Fact]
    public void Json_RoundTrip_KeepsCheckAndMeasurement()
    {
        var check = new CanaryCheck("latency", CheckKind.LatencyMannWhitney, 0.1, MinSamples: 50, Alpha: 0.01, Count: 5, FailureLimit: 1, InconclusiveLimit: 2, ConsecutiveErrorLimit: 3);
        var measurement = new Measurement(MeasurementPhase.Inconclusive, null, "no data");

        var json = System.Text.Json.JsonSerializer.Serialize(check, System.Text.Json.JsonSerializerOptions.Web);

        Assert.Contains("\"LatencyMannWhitney\"", json, StringComparison.Ordinal);
        Assert.Equal(check, System.Text.Json.JsonSerializer.Deserialize<CanaryCheck>(json, System.Text.Json.JsonSerializerOptions.Web));
        Assert.Equal(measurement, System.Text.Json.JsonSerializer.Deserialize<Measurement>(System.Text.Json.JsonSerializer.Serialize(measurement, System.Text.Json.JsonSerializerOptions.Web), System.Text.Json.JsonSerializerOptions.Web));
    }
}
