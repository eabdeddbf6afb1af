namespace Workflows.ML.Statistics;

/// <summary>Final statistics of one column.</summary>
/// <param name="Name">Column name.</param>
/// <param name="Count">Non-missing values.</param>
/// <param name="Missing">NaN or null values.</param>
/// <param name="Mean">Mean.</param>
/// <param name="PopulationVariance">M2 / n.</param>
/// <param name="SampleVariance">M2 / (n − 1); <see langword="null"/> below two values.</param>
/// <param name="PopulationStd">Square root of the population variance.</param>
/// <param name="SampleStd">Square root of the sample variance; <see langword="null"/> below two values.</param>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
/// <param name="Histogram">Fixed-bin histogram over [Min, Max], or <see langword="null"/> when not computed.</param>
/// <param name="Quantiles">Approximate quantiles, or <see langword="null"/> when none were asked for.</param>
/// <param name="QuantileMaxRankError">Guaranteed bound on the rank error of <paramref name="Quantiles"/>, in rows.</param>
/// <param name="QuantileMaxValueError">
/// Quantiles read from the fine histogram (<see cref="QuantileMethod.Histogram"/>): the width of one fine bin, about
/// the most an estimate is off in value; <see langword="null"/> for the sketch.
/// </param>
public sealed record ColumnSummary(
    string Name,
    long Count,
    long Missing,
    double Mean,
    double PopulationVariance,
    double? SampleVariance,
    double PopulationStd,
    double? SampleStd,
    double Min,
    double Max,
    HistogramSummary? Histogram,
    IReadOnlyList<QuantileValue>? Quantiles,
    long? QuantileMaxRankError,
    double? QuantileMaxValueError = null);
