namespace Workflows.ML.Canary;

/// <summary>
/// What a measuring activity gathered for one check at one analysis step: a value with the number of samples behind
/// it, or for <see cref="CheckKind.LatencyMannWhitney"/> the two latency samples, or the error that stopped it.
/// </summary>
/// <param name="Value">The metric's value (error rate, p99 in ms, disagreement, PSI, accuracy); <see langword="null"/> when there was no data.</param>
/// <param name="Samples">Requests, shadowed pairs or labels behind <paramref name="Value"/>.</param>
/// <param name="Candidate">Candidate latencies (ms) for the Mann–Whitney check.</param>
/// <param name="Stable">Stable latencies (ms) for the Mann–Whitney check.</param>
/// <param name="Error">Why the measurement failed; <see langword="null"/> when it did not.</param>
public sealed record MetricObservation(
    double? Value = null,
    long Samples = 0,
    IReadOnlyList<double>? Candidate = null,
    IReadOnlyList<double>? Stable = null,
    string? Error = null)
{
    /// <summary>A measurement that failed with <paramref name="error"/>.</summary>
    public static MetricObservation Failure(string error) => new(Error: error);
}
