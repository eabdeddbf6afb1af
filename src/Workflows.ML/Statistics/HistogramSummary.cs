namespace Workflows.ML.Statistics;

/// <summary>Equal-width bins over [<paramref name="Min"/>, <paramref name="Max"/>]; the last bin is closed.</summary>
/// <param name="Min">Lower edge of the first bin.</param>
/// <param name="Max">Upper edge of the last bin.</param>
/// <param name="Counts">Values per bin.</param>
public sealed record HistogramSummary(double Min, double Max, IReadOnlyList<long> Counts);
