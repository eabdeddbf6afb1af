using Workflows.ML.Data;
using Workflows.ML.Numerics;
using Workflows.ML.Statistics;

namespace Workflows.Functions.Statistics;

/// <summary>Input of the per-group statistics activities.</summary>
/// <param name="Dataset">The dataset, its chunk list cut down to this group's chunks.</param>
/// <param name="Columns">Columns to read.</param>
/// <param name="SketchCapacity">First pass: quantile sketch capacity, or <see langword="null"/> for no sketch.</param>
/// <param name="Ranges">Second pass: the merged first-pass moments (their min and max bound the histograms).</param>
/// <param name="Bins">Histogram bins (second pass, and first pass with <paramref name="HistogramRanges"/>).</param>
/// <param name="Subdivisions">Fine bins counted per histogram bin, for the quantiles (a power of two); as <paramref name="Bins"/>.</param>
/// <param name="KeepForSecondPass">First pass: a second pass follows, so keep the decoded chunks in the worker's cache for it.</param>
/// <param name="HistogramRanges">
/// First pass: per column of <paramref name="Columns"/> the range the Parquet footers state over all the run's chunks,
/// or null; the first pass counts the histograms of the columns that have one over it (see <see cref="FirstPassHistograms"/>).
/// <see langword="null"/> (and in inputs of histories written before) for none.
/// </param>
/// <param name="KeptColumns">
/// Second pass over a subset of the first pass's columns: the columns the first pass read and kept in the worker's
/// cache (the cache key names them), from which <paramref name="Columns"/> are picked; <see langword="null"/> when
/// they are <paramref name="Columns"/>.
/// </param>
public sealed record ChunkGroupInput(
    DatasetDescription Dataset,
    IReadOnlyList<DatasetColumn> Columns,
    int? SketchCapacity = null,
    IReadOnlyList<Moments>? Ranges = null,
    int Bins = 0,
    int Subdivisions = 1,
    bool KeepForSecondPass = false,
    IReadOnlyList<ColumnRange?>? HistogramRanges = null,
    IReadOnlyList<DatasetColumn>? KeptColumns = null);
