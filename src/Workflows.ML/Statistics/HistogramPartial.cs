using System.Text.Json.Serialization;
using Workflows.ML.Data;
using Workflows.ML.Kernels;

namespace Workflows.ML.Statistics;

/// <summary>
/// Second-pass statistics of some chunks: fixed-bin histogram counts per column over the global [min, max] that
/// the first pass found. Counts add, so partials merge exactly in any order. With <see cref="Subdivisions"/> above 1
/// each reported bin is counted as that many fine bins, from which <see cref="HistogramQuantiles"/> reads quantiles;
/// <see cref="ReportedCounts"/> folds them back into the reported bins.
/// </summary>
public sealed class HistogramPartial : IChunkAccumulator
{
    /// <summary>Lower end of each column's range.</summary>
    public required double[] Min { get; init; }

    /// <summary>Upper end of each column's range.</summary>
    public required double[] Max { get; init; }

    /// <summary>Bin counts per column: <see cref="Bins"/> × <see cref="Subdivisions"/> fine bins.</summary>
    public required long[][] Counts { get; init; }

    /// <summary>Fine bins per reported bin (a power of two; 1 when no quantiles are read from the histogram).</summary>
    public int Subdivisions { get; init; } = 1;

    /// <summary>Reported bins per column.</summary>
    [JsonIgnore]
    public int Bins => Counts.Length == 0 ? 0 : Counts[0].Length / Subdivisions;

    /// <summary>Chunks seen.</summary>
    public int Chunks { get; set; }

    /// <summary>
    /// An empty partial with <paramref name="bins"/> bins, each counted as <paramref name="subdivisions"/> fine bins
    /// (a power of two), over each column's range of <paramref name="first"/>.
    /// </summary>
    public static HistogramPartial Create(IReadOnlyList<Moments> first, int bins, int subdivisions = 1)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        if (subdivisions < 1 || !int.IsPow2(subdivisions))
        {
            throw new ArgumentOutOfRangeException(nameof(subdivisions), subdivisions, "subdivisions must be a power of two.");
        }

        var min = new double[first.Count];
        var max = new double[first.Count];
        var counts = new long[first.Count][];
        for (var i = 0; i < first.Count; i++)
        {
            min[i] = first[i].Min;
            max[i] = first[i].Max;
            counts[i] = new long[checked(bins * subdivisions)];
        }

        return new HistogramPartial { Min = min, Max = max, Counts = counts, Subdivisions = subdivisions };
    }

    /// <inheritdoc/>
    int IChunkAccumulator.ColumnCount => Counts.Length;

    /// <summary>Adds a chunk whose columns are those of the first pass, in that order.</summary>
    public void Add(DataChunk chunk, IStatisticsKernel kernel) => ChunkAccumulator.Add(this, chunk, kernel);

    /// <summary>Adds column <paramref name="index"/> of a chunk; call <see cref="CompleteChunk"/> after the last one.</summary>
    public void AddColumn(int index, ChunkColumn column, IStatisticsKernel kernel)
    {
        ArgumentNullException.ThrowIfNull(column);
        ArgumentNullException.ThrowIfNull(kernel);
        if (column.IsFloat32)
        {
            kernel.AddToHistogram(column.Float32Values, Min[index], Max[index], Counts[index]);
        }
        else
        {
            kernel.AddToHistogram(column.Float64Values, Min[index], Max[index], Counts[index]);
        }
    }

    /// <summary>Counts the chunk once its columns were added with <see cref="AddColumn"/>.</summary>
    public void CompleteChunk(DataChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ChunkAccumulator.CheckColumns(this, chunk);
        Chunks++;
    }

    /// <summary>Adds the counts of <paramref name="other"/> (same ranges and bins).</summary>
    public void Merge(HistogramPartial other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Counts.Length != Counts.Length || other.Subdivisions != Subdivisions)
        {
            throw new ArgumentException("histogram partials of different columns or subdivisions cannot merge.", nameof(other));
        }

        for (var i = 0; i < Counts.Length; i++)
        {
            if (other.Min[i] != Min[i] || other.Max[i] != Max[i] || other.Counts[i].Length != Counts[i].Length)
            {
                throw new ArgumentException($"histogram of column {i} has another range or bin count.", nameof(other));
            }

            for (var b = 0; b < Counts[i].Length; b++)
            {
                Counts[i][b] += other.Counts[i][b];
            }
        }

        Chunks += other.Chunks;
    }

    /// <summary>
    /// Column <paramref name="column"/>'s counts in the reported bins: the fine bins summed in runs of
    /// <see cref="Subdivisions"/>, exactly what counting with <see cref="Bins"/> bins gives.
    /// </summary>
    public long[] ReportedCounts(int column)
    {
        var fine = Counts[column];
        var reported = new long[Bins];
        for (var b = 0; b < fine.Length; b++)
        {
            reported[b / Subdivisions] += fine[b];
        }

        return reported;
    }
}
