using System.Globalization;

namespace Workflows.ML.Canary;

/// <summary>
/// One metric of a canary analysis (an Argo Rollouts AnalysisTemplate metric): what it measures, the threshold, how
/// many samples a measurement needs, and the limits that turn measurements into a verdict
/// (<see cref="AnalysisEvaluator"/>).
/// </summary>
/// <param name="Name">Unique name within the spec.</param>
/// <param name="Kind">What is measured and how <paramref name="Threshold"/> reads (see <see cref="CheckKind"/>).</param>
/// <param name="Threshold">The bound a value must meet; for <see cref="CheckKind.LatencyMannWhitney"/> the allowed relative slowdown.</param>
/// <param name="MinSamples">Samples a measurement needs (labels for live accuracy, latencies per side for Mann–Whitney); fewer make it Inconclusive.</param>
/// <param name="Alpha">Significance level of the Mann–Whitney test.</param>
/// <param name="Count">Measurements (not counting errors) after which the check is done; <see langword="null"/>: until the run is terminated.</param>
/// <param name="FailureLimit">Failed measurements allowed; one more fails the check (Argo's <c>failureLimit</c>, default 0).</param>
/// <param name="InconclusiveLimit">Inconclusive measurements allowed; one more makes the check Inconclusive (Argo's <c>inconclusiveLimit</c>, default 0).</param>
/// <param name="ConsecutiveErrorLimit">Errors in a row allowed; one more errors the check (Argo's <c>consecutiveErrorLimit</c>, default 4).</param>
public sealed record CanaryCheck(
    string Name,
    CheckKind Kind,
    double Threshold,
    long MinSamples = 1,
    double Alpha = 0.05,
    int? Count = null,
    int FailureLimit = 0,
    int InconclusiveLimit = 0,
    int ConsecutiveErrorLimit = CanaryCheck.DefaultConsecutiveErrorLimit)
{
    /// <summary>Argo Rollouts' default for <see cref="ConsecutiveErrorLimit"/>.</summary>
    public const int DefaultConsecutiveErrorLimit = 4;

    /// <summary>The fewest latencies per side a Mann–Whitney check may ask for: below it the normal approximation is too rough.</summary>
    public const int MannWhitneyMinSamples = 20;

    /// <summary>
    /// The fewest predictions per side a PSI check may ask for: PSI of two samples of one distribution is biased
    /// upwards by about (bins − 1)·(1/n + 1/N), 0.18 for deciles at 100 per side.
    /// </summary>
    public const int PsiMinSamples = 100;

    /// <summary>Judges one observation: Error when it errored, Inconclusive without data or with too few samples, else Successful or Failed by the threshold.</summary>
    public Measurement Measure(MetricObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        if (observation.Error is { } error)
        {
            return new Measurement(MeasurementPhase.Error, null, error);
        }

        return Kind == CheckKind.LatencyMannWhitney ? MeasureLatencies(observation) : MeasureValue(observation);
    }

    /// <summary>What is wrong with this check, each error naming its field under <paramref name="path"/> (e.g. <c>checks[1]</c>).</summary>
    public IEnumerable<string> Validate(string path)
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            yield return $"{path}.name: a check needs a name.";
        }

        if (!Enum.IsDefined(Kind))
        {
            yield return $"{path}.kind: unknown kind {(int)Kind}.";
        }

        var (low, high, range) = Kind switch
        {
            CheckKind.ErrorRate or CheckKind.ShadowDisagreement or CheckKind.LiveAccuracy => (0.0, 1.0, "between 0 and 1"),
            CheckKind.LatencyMannWhitney => (0.0, double.MaxValue, "a finite number at least 0"),
            _ => (double.Epsilon, double.MaxValue, "a finite number above 0"),
        };
        if (!(Threshold >= low && Threshold <= high))
        {
            yield return $"{path}.threshold: {Kind} needs a threshold {range}; got {Format(Threshold)}.";
        }

        if (MinSamples < 0)
        {
            yield return $"{path}.minSamples: must be at least 0; got {MinSamples}.";
        }

        if (Kind == CheckKind.LatencyMannWhitney)
        {
            if (MinSamples < MannWhitneyMinSamples)
            {
                yield return $"{path}.minSamples: the Mann–Whitney check needs at least {MannWhitneyMinSamples} latencies per side; got {MinSamples}.";
            }

            if (!(Alpha is > 0 and < 1))
            {
                yield return $"{path}.alpha: must be between 0 and 1 (exclusive); got {Format(Alpha)}.";
            }
        }

        if (Kind == CheckKind.PsiVsStable && MinSamples < PsiMinSamples)
        {
            yield return $"{path}.minSamples: the PSI check needs at least {PsiMinSamples} predictions per side; got {MinSamples}.";
        }

        if (Count is < 1)
        {
            yield return $"{path}.count: must be at least 1 when set; got {Count}.";
        }

        if (FailureLimit < 0)
        {
            yield return $"{path}.failureLimit: must be at least 0; got {FailureLimit}.";
        }

        if (InconclusiveLimit < 0)
        {
            yield return $"{path}.inconclusiveLimit: must be at least 0; got {InconclusiveLimit}.";
        }

        if (ConsecutiveErrorLimit < 0)
        {
            yield return $"{path}.consecutiveErrorLimit: must be at least 0; got {ConsecutiveErrorLimit}.";
        }
    }

    private Measurement MeasureValue(MetricObservation observation)
    {
        if (observation.Value is not { } value || double.IsNaN(value))
        {
            return new Measurement(MeasurementPhase.Inconclusive, null, $"no data ({observation.Samples} samples).");
        }

        if (observation.Samples < MinSamples)
        {
            return new Measurement(MeasurementPhase.Inconclusive, value, $"{observation.Samples} samples, fewer than the {MinSamples} needed.");
        }

        var atLeast = Kind == CheckKind.LiveAccuracy;
        var passed = atLeast ? value >= Threshold : value <= Threshold;
        var comparison = atLeast ? (passed ? ">=" : "<") : (passed ? "<=" : ">");
        return new Measurement(
            passed ? MeasurementPhase.Successful : MeasurementPhase.Failed,
            value,
            $"{Kind} {Format(value)} {comparison} {Format(Threshold)} over {observation.Samples} samples.");
    }

    private Measurement MeasureLatencies(MetricObservation observation)
    {
        var candidate = observation.Candidate ?? [];
        var stable = observation.Stable ?? [];
        if (candidate.Count < Math.Max(1, MinSamples) || stable.Count < Math.Max(1, MinSamples))
        {
            return new Measurement(MeasurementPhase.Inconclusive, null, $"{candidate.Count} candidate and {stable.Count} stable latencies, fewer than the {MinSamples} needed per side.");
        }

        if (candidate.Any(v => !double.IsFinite(v)) || stable.Any(v => !double.IsFinite(v)))
        {
            return new Measurement(MeasurementPhase.Error, null, "a latency is not a finite number.");
        }

        var candidateValues = candidate.ToArray();
        var stableValues = stable.ToArray();
        var test = MannWhitney.Test(candidateValues, stableValues);
        Array.Sort(stableValues);
        var middle = stableValues.Length / 2;
        var stableMedian = stableValues.Length % 2 == 1 ? stableValues[middle] : (stableValues[middle - 1] + stableValues[middle]) / 2;
        var allowed = Threshold * stableMedian;
        var slower = test.PValue < Alpha && test.Shift > allowed;
        return new Measurement(
            slower ? MeasurementPhase.Failed : MeasurementPhase.Successful,
            test.Shift,
            $"shift {Format(test.Shift)} ms (allowed {Format(allowed)} ms), p = {Format(test.PValue)} (alpha {Format(Alpha)}), {candidate.Count} candidate and {stable.Count} stable latencies.");
    }

    private static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
