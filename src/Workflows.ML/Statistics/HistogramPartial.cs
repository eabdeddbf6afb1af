using Workflows.ML.Data;
using Workflows.ML.Kernels;

namespace Workflows.ML.Statistics;

/// <summary>
/// Second-pass statistics of some chunks: fixed-bin histogram counts per column over the global [min, max] that
/// the first pass found. Counts add, so partials merge exactly in any order.
/// </summary>
public sealed class HistogramPartial : IChunkAccumulator
{
    /// <summary>Lower end of each column's range.</summary>
    public required double[] Min { get; init; }

    /// <summary>Upper end of each column's range.</summary>
    public required double[] Max { get; init; }

    /// <summary>Bin counts per column.</summary>
    public required long[][] Counts { get; init; }

    /// <summary>Chunks seen.</summary>
    public int Chunks { get; set; }

    /// <summary>An empty partial with <paramref name="bins"/> bins over each column's range of <paramref name="first"/>.</summary>
    public static HistogramPartial Create(IReadOnlyList<Moments> first, int bins)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var min = new double[first.Count];
        var max = new double[first.Count];
        var counts = new long[first.Count][];
        for (var i = 0; i < first.Count; i++)
        {
            min[i] = first[i].Min;
            max[i] = first[i].Max;
            counts[i] = new long[bins];
        }

        return new HistogramPartial { Min = min, Max = max, Counts = counts };
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
        if (other.Counts.Length != Counts.Length)
        {
            throw new ArgumentException("histogram partials of different columns cannot merge.", nameof(other));
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
}
