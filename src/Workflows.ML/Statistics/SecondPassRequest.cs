using Workflows.ML.Data;
using Workflows.ML.Numerics;

namespace Workflows.ML.Statistics;

/// <summary>
/// The second pass of <see cref="ChunkStatistics.ComputeHistogramsAsync"/>: histogram counts of the group's chunks over
/// the ranges the first pass found, each bin counted as <see cref="Subdivisions"/> fine bins (see <see cref="HistogramPartial"/>).
/// </summary>
public sealed record SecondPassRequest : ChunkPassRequest
{
    /// <summary>The merged first pass's moments of <see cref="ChunkGroup.Columns"/>: their min and max bound the histograms.</summary>
    public required IReadOnlyList<Moments> FirstPassMoments { get; init; }

    /// <summary>Histogram bins per column.</summary>
    public required int Bins { get; init; }

    /// <summary>Fine bins counted per histogram bin, for the quantiles (a power of two). Default 1.</summary>
    public int Subdivisions { get; init; } = 1;

    /// <summary>
    /// Where the first pass kept its decoded chunks: those found there are taken from it, the others decoded.
    /// <see langword="null"/> (the default) decodes every chunk.
    /// </summary>
    public ChunkCacheScope? Cache { get; init; }

    /// <summary>
    /// The columns the first pass read and kept in <see cref="Cache"/> (the cache key names them), of which
    /// <see cref="ChunkGroup.Columns"/> is a subset (the columns whose histograms the first pass could not count):
    /// the kept chunks are looked up under these columns and the subset picked from them; chunks that are not there
    /// decode the subset only. <see langword="null"/> (the default) means the first pass kept <see cref="ChunkGroup.Columns"/>.
    /// </summary>
    public IReadOnlyList<DatasetColumn>? KeptColumns { get; init; }
}
