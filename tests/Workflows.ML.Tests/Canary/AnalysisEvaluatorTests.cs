using Workflows.ML.Canary;
using Xunit;

namespace Workflows.ML.Tests.Canary;

public sealed class AnalysisEvaluatorTests
{
    private static readonly Measurement S = new(MeasurementPhase.Successful, 0, "ok");
    private static readonly Measurement F = new(MeasurementPhase.Failed, 1, "too high");
    private static readonly Measurement I = new(MeasurementPhase.Inconclusive, null, "no data");
    private static readonly Measurement E = new(MeasurementPhase.Error, null, "query failed");

    [Fact]
    public void FailureLimit_OneMoreFailureThanAllowed_Fails()
    {
        var check = Check(failureLimit: 1);

        Assert.Equal(AnalysisPhase.Running, Assess(check, S, F, S).Phase);
        var failed = Assess(check, S, F, S, F);
        Assert.Equal(AnalysisPhase.Failed, failed.Phase);
        Assert.Equal("failed (2) > failureLimit (1); last: too high", failed.Message);
    }

    [Fact]
    public void FailureLimitZero_FirstFailureFails()
    {
        Assert.Equal(AnalysisPhase.Failed, Assess(Check(), S, S, F).Phase);
    }

    [Fact]
    public void InconclusiveLimit_OneMoreThanAllowed_IsInconclusive()
    {
        var check = Check(inconclusiveLimit: 2);

        Assert.Equal(AnalysisPhase.Running, Assess(check, I, S, I).Phase);
        Assert.Equal(AnalysisPhase.Inconclusive, Assess(check, I, S, I, I).Phase);
    }

    [Fact]
    public void ConsecutiveErrorLimit_CountsOnlyErrorsInARow()
    {
        var check = Check();

        // Default limit 4: four errors in a row are tolerated, the fifth errors the check; a good measurement resets the run.
        Assert.Equal(AnalysisPhase.Running, Assess(check, E, E, E, E, S, E, E, E, E).Phase);
        var errored = Assess(check, S, E, E, E, E, E);
        Assert.Equal(AnalysisPhase.Error, errored.Phase);
        Assert.Equal((5, 5), (errored.Errors, errored.ConsecutiveErrors));
        Assert.Equal(AnalysisPhase.Error, Assess(Check(consecutiveErrorLimit: 0), S, E).Phase);
    }

    [Fact]
    public void Limits_AreCheckedFailedThenInconclusiveThenError()
    {
        var check = Check(consecutiveErrorLimit: 0);

        Assert.Equal(AnalysisPhase.Failed, Assess(check, I, F, E).Phase);
        Assert.Equal(AnalysisPhase.Inconclusive, Assess(check, I, E).Phase);
    }

    [Fact]
    public void Count_ReachedWithoutErrorsCounted_IsSuccessful()
    {
        var check = Check(count: 3, failureLimit: 1);

        Assert.Equal(AnalysisPhase.Running, Assess(check, S, E, F).Phase);
        var done = Assess(check, S, E, F, S);
        Assert.Equal(AnalysisPhase.Successful, done.Phase);
        Assert.Equal((2, 1, 0, 1), (done.Successful, done.Failed, done.Inconclusive, done.Errors));
    }

    [Fact]
    public void NoSuccessfulMeasurement_IsNeverSuccessful()
    {
        // Argo would call these Successful: count reached with tolerated failures, and runs terminated early.
        Assert.Equal(AnalysisPhase.Inconclusive, Assess(Check(count: 2, failureLimit: 2), F, F).Phase);
        Assert.Equal(AnalysisPhase.Error, Assess(Check(), terminate: true, E, E, E).Phase);
        Assert.Equal(AnalysisPhase.Inconclusive, Assess(Check(), terminate: true).Phase);
        Assert.Equal(AnalysisPhase.Successful, Assess(Check(), terminate: true, E, S, E).Phase);
    }

    [Fact]
    public void Run_RunningWhileAnyCheckRuns_ThenTheWorst()
    {
        var checks = new[] { Check("a", count: 2), Check("b", count: 2, inconclusiveLimit: 1), Check("c", count: 1) };

        var running = AnalysisEvaluator.AssessRun(checks, Measurements(("a", [S]), ("b", [I]), ("c", [S])));
        Assert.Equal(AnalysisPhase.Running, running.Phase);
        Assert.Equal([AnalysisPhase.Running, AnalysisPhase.Running, AnalysisPhase.Successful], running.Metrics.Select(m => m.Phase));

        var done = AnalysisEvaluator.AssessRun(checks, Measurements(("a", [S, S]), ("b", [I, S]), ("c", [S])));
        Assert.Equal(AnalysisPhase.Successful, done.Phase);
        Assert.Equal(string.Empty, done.Message);
    }

    [Fact]
    public void Run_OneCheckFails_TerminatesTheRunAsFailed()
    {
        // Argo terminates a run when a metric fails; the others end then, and the run takes the worst phase.
        var checks = new[] { Check("errors"), Check("latency", count: 10) };

        var result = AnalysisEvaluator.AssessRun(checks, Measurements(("errors", [S, F]), ("latency", [S])));

        Assert.Equal(AnalysisPhase.Failed, result.Phase);
        Assert.Equal(AnalysisPhase.Successful, result.Metrics[1].Phase);
        Assert.StartsWith("check 'errors' is Failed: failed (1) > failureLimit (0)", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WorstOrder_IsSuccessfulInconclusiveErrorFailed()
    {
        var checks = new[] { Check("i"), Check("e", consecutiveErrorLimit: 0), Check("f") };

        Assert.Equal(AnalysisPhase.Error, AnalysisEvaluator.AssessRun(checks[..2], Measurements(("i", [I]), ("e", [E]))).Phase);
        Assert.Equal(AnalysisPhase.Failed, AnalysisEvaluator.AssessRun(checks, Measurements(("i", [I]), ("e", [E]), ("f", [F]))).Phase);
        Assert.Equal(AnalysisPhase.Inconclusive, AnalysisEvaluator.AssessRun(checks[..1], Measurements(("i", [I]))).Phase);
    }

    [Fact]
    public void Run_EveryMeasurementErrored_IsNotSuccessful()
    {
        var checks = new[] { Check("a"), Check("b") };

        var result = AnalysisEvaluator.AssessRun(checks, Measurements(("a", [E, E]), ("b", [E])), terminate: true);

        Assert.Equal(AnalysisPhase.Error, result.Phase);
    }

    [Fact]
    public void Run_TerminatedWithSuccesses_IsSuccessful_MissingCheckIsInconclusive()
    {
        var checks = new[] { Check("a"), Check("b") };

        Assert.Equal(AnalysisPhase.Successful, AnalysisEvaluator.AssessRun(checks, Measurements(("a", [S]), ("b", [S, S])), terminate: true).Phase);
        Assert.Equal(AnalysisPhase.Inconclusive, AnalysisEvaluator.AssessRun(checks, Measurements(("a", [S])), terminate: true).Phase);
    }

    private static CanaryCheck Check(string name = "m", int? count = null, int failureLimit = 0, int inconclusiveLimit = 0, int consecutiveErrorLimit = CanaryCheck.DefaultConsecutiveErrorLimit) =>
        new(name, CheckKind.ErrorRate, 0.01, Count: count, FailureLimit: failureLimit, InconclusiveLimit: inconclusiveLimit, ConsecutiveErrorLimit: consecutiveErrorLimit);

    private static MetricAssessment Assess(CanaryCheck check, params Measurement[] measurements) =>
        AnalysisEvaluator.AssessMetric(check, measurements, terminating: false);

    private static MetricAssessment Assess(CanaryCheck check, bool terminate, params Measurement[] measurements) =>
        AnalysisEvaluator.AssessMetric(check, measurements, terminate);

    private static Dictionary<string, IReadOnlyList<Measurement>> Measurements(params (string Name, Measurement[] List)[] lists) =>
        lists.ToDictionary(l => l.Name, l => (IReadOnlyList<Measurement>)l.List, StringComparer.Ordinal);
}
