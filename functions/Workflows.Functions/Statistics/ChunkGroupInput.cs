using Workflows.ML.Data;
using Workflows.ML.Statistics;

namespace Workflows.Functions.Statistics;

/// <summary>Input of the per-group statistics activities.</summary>
/// <param name="Dataset">The dataset, its chunk list cut down to this group's chunks.</param>
/// <param name="Columns">Columns to read.</param>
/// <param name="SketchCapacity">First pass: quantile sketch capacity, or <see langword="null"/> for no sketch.</param>
/// <param name="Ranges">Second pass: the merged first-pass moments (their min and max bound the histograms).</param>
/// <param name="Bins">Second pass: histogram bins.</param>
/// <param name="Subdivisions">Second pass: fine bins counted per histogram bin, for the quantiles (a power of two).</param>
/// <param name="KeepForSecondPass">First pass: a second pass follows, so keep the decoded chunks in the worker's cache for it.</param>
public sealed record ChunkGroupInput(
    DatasetDescription Dataset,
    IReadOnlyList<DatasetColumn> Columns,
    int? SketchCapacity = null,
    IReadOnlyList<Moments>? Ranges = null,
    int Bins = 0,
    int Subdivisions = 1,
    bool KeepForSecondPass = false);
