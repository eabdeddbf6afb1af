using Microsoft.Azure.Functions.Worker;
using System.Globalization;
using Microsoft.DurableTask;
using Workflows.ML.Canary;
using Workflows.ML.Monitoring;
using Workflows.Functions.Orchestration;

namespace Workflows.Functions.Canary;

/// <summary>Input of <see cref="AnalyzeCanaryWindowActivity"/>.</summary>
/// <param name="Model">The model.</param>
/// <param name="StableVersion">The stable version (the Mann–Whitney check's baseline).</param>
/// <param name="CandidateVersion">The candidate.</param>
/// <param name="Checks">The checks to measure.</param>
/// <param name="From">Window start (UTC).</param>
/// <param name="To">Window end (UTC).</param>
public sealed record AnalyzeCanaryWindowInput(string Model, int StableVersion, int CandidateVersion, IReadOnlyList<CanaryCheck> Checks, DateTime From, DateTime To);

/// <summary>
/// Reads both versions' figures over one window from the prediction service and judges every check on them
/// (<see cref="CanaryCheck.Measure"/>): error rate = errors / (answered + errors), p99 latency, live accuracy over the
/// labels that came back, shadow disagreement (of the stable version's requests mirrored to the candidate, the share
/// whose answers differed), the Mann–Whitney test of the candidate's latencies against the stable version's (drawn
/// from the service's latency histograms), and the PSI of the candidate's predictions against the stable version's
/// over the window (from the service's per-version prediction samples, binned by the stable version's deciles;
/// fewer than <c>minSamples</c> predictions on either side is Inconclusive). No requests make a measurement
/// Inconclusive; a service that cannot be read,
/// a version it has not loaded, or a window it no longer keeps (or has not finished) make it Error. Neither is a pass.
/// </summary>
public sealed class AnalyzeCanaryWindowActivity(IServingAdmin serving) : TaskActivity<AnalyzeCanaryWindowInput, IReadOnlyList<CanaryCheckMeasurement>>
{
    /// <summary>Registered name.</summary>
    public const string Name = "CanaryAnalyzeWindow";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<IReadOnlyList<CanaryCheckMeasurement>> RunFunctionAsync([ActivityTrigger] AnalyzeCanaryWindowInput input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<AnalyzeCanaryWindowActivity, AnalyzeCanaryWindowInput, IReadOnlyList<CanaryCheckMeasurement>>(Name, input, instanceId, executionContext);

    /// <summary>At most this many latencies per side go into the Mann–Whitney test; bigger histograms are scaled down bucket by bucket.</summary>
    public const int MaxLatencySamples = 20_000;

    /// <summary>At most this many of each version's most recent predictions in the window go into a PSI check.</summary>
    public const int MaxPredictionSamples = 10_000;

    /// <inheritdoc />
    public override async Task<IReadOnlyList<CanaryCheckMeasurement>> RunAsync(TaskActivityContext context, AnalyzeCanaryWindowInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ServingWindow window;
        try
        {
            window = await serving.GetMetricsAsync(
                input.Model,
                new DateTimeOffset(DateTime.SpecifyKind(input.From, DateTimeKind.Utc)),
                new DateTimeOffset(DateTime.SpecifyKind(input.To, DateTimeKind.Utc)),
                CancellationToken.None);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or InvalidOperationException or FormatException)
        {
            var error = MetricObservation.Failure($"the prediction service's metrics could not be read: {exception.Message}");
            return [.. input.Checks.Select(check => new CanaryCheckMeasurement(check.Name, check.Kind, 0, check.Measure(error)))];
        }

        var predictions = input.Checks.Any(c => c.Kind == CheckKind.PsiVsStable) ? await PredictionsAsync(input).ConfigureAwait(false) : null;
        return Measure(input, window, predictions);
    }

    /// <summary>
    /// Judges every check of <paramref name="input"/> on the figures of <paramref name="window"/> and, for PSI
    /// checks, the versions' predictions over the window (<paramref name="predictions"/>).
    /// </summary>
    public static IReadOnlyList<CanaryCheckMeasurement> Measure(AnalyzeCanaryWindowInput input, ServingWindow window, WindowPredictions? predictions = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(window);
        var candidate = window.Versions.FirstOrDefault(v => v.Version == input.CandidateVersion);
        var stable = window.Versions.FirstOrDefault(v => v.Version == input.StableVersion);
        return [.. input.Checks.Select(check =>
        {
            var (observation, samples) = Observe(check, candidate, stable, input, predictions);
            return new CanaryCheckMeasurement(check.Name, check.Kind, samples, check.Measure(observation));
        })];
    }

    /// <summary>Both versions' predictions over the window, or the reason they could not be read.</summary>
    private async Task<WindowPredictions> PredictionsAsync(AnalyzeCanaryWindowInput input)
    {
        var from = new DateTimeOffset(DateTime.SpecifyKind(input.From, DateTimeKind.Utc));
        var to = new DateTimeOffset(DateTime.SpecifyKind(input.To, DateTimeKind.Utc));
        try
        {
            var candidate = await serving.GetSampleAsync(input.Model, input.CandidateVersion, MaxPredictionSamples, from, to, CancellationToken.None).ConfigureAwait(false);
            var stable = await serving.GetSampleAsync(input.Model, input.StableVersion, MaxPredictionSamples, from, to, CancellationToken.None).ConfigureAwait(false);
            return new WindowPredictions(candidate.Predictions, stable.Predictions, null);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or InvalidOperationException or FormatException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            return new WindowPredictions([], [], $"the prediction service's prediction samples could not be read: {exception.Message}");
        }
    }

    /// <summary>
    /// The PSI of <paramref name="candidate"/> predictions against <paramref name="stable"/> ones, binned by the stable
    /// predictions' deciles (<see cref="PopulationStability.BetweenSamples"/>), over the predictions that are not NaN;
    /// the samples are the smaller side's count, and the value is null when either side has none.
    /// </summary>
    internal static MetricObservation PsiObservation(IReadOnlyList<float> candidate, IReadOnlyList<float> stable)
    {
        var c = candidate.Where(v => !float.IsNaN(v)).Select(v => (double)v).ToArray();
        var s = stable.Where(v => !float.IsNaN(v)).Select(v => (double)v).ToArray();
        var samples = Math.Min(c.Length, s.Length);
        return new MetricObservation(samples == 0 ? null : PopulationStability.BetweenSamples(s, c), samples);
    }

    private static (MetricObservation Observation, long Samples) Observe(
        CanaryCheck check, ServingVersionFigures? candidate, ServingVersionFigures? stable, AnalyzeCanaryWindowInput input, WindowPredictions? predictions)
    {
        if (Unusable(candidate, input.CandidateVersion, input) is { } candidateError)
        {
            return (MetricObservation.Failure(candidateError), 0);
        }

        var c = candidate!;
        switch (check.Kind)
        {
            case CheckKind.ErrorRate:
                var total = c.Requests + c.Errors;
                return (new MetricObservation(total == 0 ? null : c.Errors / (double)total, total), total);
            case CheckKind.LatencyP99:
                return (new MetricObservation(c.P99Ms, c.Requests), c.Requests);
            case CheckKind.LiveAccuracy:
                return (new MetricObservation(c.Accuracy, c.LabelledRows), c.LabelledRows);
            case CheckKind.ShadowDisagreement:
                return (new MetricObservation(c.ShadowCompared == 0 ? null : c.ShadowDisagreed / (double)c.ShadowCompared, c.ShadowCompared), c.ShadowCompared);
            case CheckKind.LatencyMannWhitney:
                if (Unusable(stable, input.StableVersion, input) is { } stableError)
                {
                    return (MetricObservation.Failure(stableError), 0);
                }

                var candidateLatencies = Latencies(c.Histogram);
                return (new MetricObservation(Candidate: candidateLatencies, Stable: Latencies(stable!.Histogram)), candidateLatencies.Count);
            case CheckKind.PsiVsStable:
                if (Unusable(stable, input.StableVersion, input) is { } stableUnusable)
                {
                    return (MetricObservation.Failure(stableUnusable), 0);
                }

                if (predictions is null || predictions.Error is not null)
                {
                    return (MetricObservation.Failure(predictions?.Error ?? "the prediction samples were not read."), 0);
                }

                var psi = PsiObservation(predictions.Candidate, predictions.Stable);
                return (psi, psi.Samples);
            default:
                return (MetricObservation.Failure($"{check.Kind} is not measured from the prediction service's metrics."), 0);
        }
    }

    private static string? Unusable(ServingVersionFigures? figures, int version, AnalyzeCanaryWindowInput input)
    {
        if (figures is null)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the prediction service has no figures for version {version} of '{input.Model}' (not loaded).");
        }

        return figures.Complete
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"the prediction service does not hold the whole window {input.From:O} to {input.To:O} for version {version} (older than it keeps, or not over by its clock).");
    }

    /// <summary>
    /// The latencies a histogram stands for, each request at its bucket's upper bound (so requests in one bucket tie);
    /// more than <see cref="MaxLatencySamples"/> are scaled down in proportion, bucket by bucket.
    /// </summary>
    internal static IReadOnlyList<double> Latencies(IReadOnlyList<ServingLatencyBucket> histogram)
    {
        var total = histogram.Sum(b => b.Count);
        var scale = total > MaxLatencySamples ? MaxLatencySamples / (double)total : 1.0;
        var values = new List<double>((int)Math.Min(total, MaxLatencySamples + histogram.Count));
        foreach (var bucket in histogram)
        {
            var count = scale == 1.0 ? bucket.Count : (long)Math.Round(bucket.Count * scale);
            for (long i = 0; i < count; i++)
            {
                values.Add(bucket.UpperMs);
            }
        }

        return values;
    }
}

/// <summary>Both versions' predictions over one window, for the PSI check.</summary>
/// <param name="Candidate">The candidate's predictions.</param>
/// <param name="Stable">The stable version's predictions.</param>
/// <param name="Error">Why they could not be read, or null.</param>
public sealed record WindowPredictions(IReadOnlyList<float> Candidate, IReadOnlyList<float> Stable, string? Error);
