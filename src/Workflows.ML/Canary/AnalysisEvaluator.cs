namespace Workflows.ML.Canary;

/// <summary>
/// Turns the measurements of an analysis run into phases, with the rules of Argo Rollouts' AnalysisRun controller
/// (<c>analysis/analysis.go</c>: <c>assessMetricStatus</c>, <c>assessRunStatus</c>; <c>utils/analysis</c>:
/// <c>IsTerminating</c>, <c>IsWorse</c>):
/// <list type="bullet">
/// <item>A check is Failed when its failed measurements exceed <see cref="CanaryCheck.FailureLimit"/>, else
/// Inconclusive when its inconclusive ones exceed <see cref="CanaryCheck.InconclusiveLimit"/>, else Error when its
/// errors in a row exceed <see cref="CanaryCheck.ConsecutiveErrorLimit"/> (a measurement that does not error resets
/// that count), checked in that order.</item>
/// <item>Otherwise a check is done when its measurements, errors not counted, reach <see cref="CanaryCheck.Count"/>,
/// or when the run is terminating; until then it is Running.</item>
/// <item>The run terminates when asked to or as soon as one check is Failed, Error or Inconclusive; it is Running
/// while any check is, and then takes the worst phase of its checks in the order Successful, Inconclusive, Error,
/// Failed.</item>
/// </list>
/// One rule is stricter than Argo's: a check is Successful only with at least one Successful measurement. Where Argo
/// calls a done check without one Successful (e.g. a run terminated before any measurement, or one whose every
/// measurement errored), this calls it Error when every measurement it has errored and Inconclusive otherwise, so a
/// canary is never promoted on measurements that never passed.
/// </summary>
public static class AnalysisEvaluator
{
    /// <summary>
    /// The run's phase from each check's measurements so far, oldest first (a check missing from
    /// <paramref name="measurements"/> has none); <paramref name="terminate"/> ends the run (the canary's last step, a
    /// timeout, a person's decision).
    /// </summary>
    public static AnalysisRunResult AssessRun(
        IReadOnlyList<CanaryCheck> checks,
        IReadOnlyDictionary<string, IReadOnlyList<Measurement>> measurements,
        bool terminate = false)
    {
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(measurements);
        var assessed = new MetricAssessment[checks.Count];
        for (var i = 0; i < assessed.Length; i++)
        {
            assessed[i] = AssessMetric(checks[i], MeasurementsOf(checks[i], measurements), terminate);
        }

        // A check that ended badly terminates the run: the others are assessed as terminated.
        if (!terminate && assessed.Any(a => a.Phase is AnalysisPhase.Failed or AnalysisPhase.Error or AnalysisPhase.Inconclusive))
        {
            for (var i = 0; i < assessed.Length; i++)
            {
                if (assessed[i].Phase == AnalysisPhase.Running)
                {
                    assessed[i] = AssessMetric(checks[i], MeasurementsOf(checks[i], measurements), terminating: true);
                }
            }
        }

        if (assessed.Length == 0 || assessed.Any(a => a.Phase == AnalysisPhase.Running))
        {
            return new AnalysisRunResult(AnalysisPhase.Running, assessed, string.Empty);
        }

        var worst = assessed.Aggregate((a, b) => b.Phase > a.Phase ? b : a);
        var message = worst.Phase == AnalysisPhase.Successful ? string.Empty : $"check '{worst.Name}' is {worst.Phase}: {worst.Message}";
        return new AnalysisRunResult(worst.Phase, assessed, message);
    }

    /// <summary>The phase of one check from its measurements, oldest first.</summary>
    public static MetricAssessment AssessMetric(CanaryCheck check, IReadOnlyList<Measurement> measurements, bool terminating)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(measurements);
        int successful = 0, failed = 0, inconclusive = 0, errors = 0, consecutiveErrors = 0;
        foreach (var measurement in measurements)
        {
            switch (measurement.Phase)
            {
                case MeasurementPhase.Successful:
                    successful++;
                    consecutiveErrors = 0;
                    break;
                case MeasurementPhase.Failed:
                    failed++;
                    consecutiveErrors = 0;
                    break;
                case MeasurementPhase.Inconclusive:
                    inconclusive++;
                    consecutiveErrors = 0;
                    break;
                default:
                    errors++;
                    consecutiveErrors++;
                    break;
            }
        }

        MetricAssessment Result(AnalysisPhase phase, string message) =>
            new(check.Name, phase, successful, failed, inconclusive, errors, consecutiveErrors, message);

        if (failed > check.FailureLimit)
        {
            return Result(AnalysisPhase.Failed, $"failed ({failed}) > failureLimit ({check.FailureLimit}); last: {LastOf(measurements, MeasurementPhase.Failed)}");
        }

        if (inconclusive > check.InconclusiveLimit)
        {
            return Result(AnalysisPhase.Inconclusive, $"inconclusive ({inconclusive}) > inconclusiveLimit ({check.InconclusiveLimit}); last: {LastOf(measurements, MeasurementPhase.Inconclusive)}");
        }

        if (consecutiveErrors > check.ConsecutiveErrorLimit)
        {
            return Result(AnalysisPhase.Error, $"consecutiveErrors ({consecutiveErrors}) > consecutiveErrorLimit ({check.ConsecutiveErrorLimit}); last: {LastOf(measurements, MeasurementPhase.Error)}");
        }

        var counted = successful + failed + inconclusive;
        var countReached = check.Count is { } count && counted >= count;
        if (!countReached && !terminating)
        {
            return Result(AnalysisPhase.Running, $"{counted} of {(check.Count is { } c ? c.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unlimited")} measurements.");
        }

        var why = countReached ? $"count ({check.Count}) reached" : "run terminated";
        if (successful > 0)
        {
            return Result(AnalysisPhase.Successful, $"{why} with {successful} successful measurements.");
        }

        return errors > 0 && counted == 0
            ? Result(AnalysisPhase.Error, $"{why}, every measurement errored; last: {LastOf(measurements, MeasurementPhase.Error)}")
            : Result(AnalysisPhase.Inconclusive, $"{why} without a successful measurement.");
    }

    private static IReadOnlyList<Measurement> MeasurementsOf(CanaryCheck check, IReadOnlyDictionary<string, IReadOnlyList<Measurement>> measurements) =>
        measurements.TryGetValue(check.Name, out var list) ? list : [];

    private static string LastOf(IReadOnlyList<Measurement> measurements, MeasurementPhase phase) =>
        measurements.LastOrDefault(m => m.Phase == phase)?.Message ?? string.Empty;
}
