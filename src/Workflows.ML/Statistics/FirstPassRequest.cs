using Workflows.ML.Data;

namespace Workflows.ML.Statistics;

/// <summary>
/// The first pass of <see cref="ChunkStatistics.ComputeMomentsAsync"/>: moments and label counts of the group's chunks,
/// and optionally quantile sketches, histograms over known ranges, and the decoded chunks kept for the second pass.
/// </summary>
public sealed record FirstPassRequest : ChunkPassRequest
{
    /// <summary>Capacity of each column's quantile sketch; <see langword="null"/> (the default) for no sketches.</summary>
    public int? SketchCapacity { get; init; }

    /// <summary>
    /// Per column of <see cref="ChunkGroup.Columns"/> the range to count its histogram over in this pass
    /// (e.g. the Parquet footers' ranges), null for a column not to count (see <see cref="FirstPassHistograms"/>); it
    /// holds exactly one entry per column. <see langword="null"/> (the default) counts no histograms.
    /// </summary>
    public IReadOnlyList<ColumnRange?>? HistogramRanges { get; init; }

    /// <summary>Histogram bins of the columns counted over <see cref="HistogramRanges"/>; needed with them. Default 0.</summary>
    public int Bins { get; init; }

    /// <summary>Fine bins counted per histogram bin, for the quantiles (a power of two). Default 1.</summary>
    public int Subdivisions { get; init; } = 1;

    /// <summary>
    /// Where to keep each chunk's decoded feature columns for the second pass (when the storage versions its files and
    /// the scan's budget allows); <see langword="null"/> (the default) keeps nothing.
    /// </summary>
    public ChunkCacheScope? KeepForSecondPass { get; init; }
}
