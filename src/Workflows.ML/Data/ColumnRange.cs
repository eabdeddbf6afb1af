namespace Workflows.ML.Data;

/// <summary>
/// The smallest and largest value of a column over some chunks, as the Parquet footers state them (see
/// <see cref="FooterRanges"/>): finite, and <paramref name="Min"/> ≤ <paramref name="Max"/>.
/// </summary>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
public sealed record ColumnRange(double Min, double Max);
