using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Numerics;

namespace Workflows.ML.Statistics;

/// <summary>
/// First-pass statistics of some chunks: per column moments, (optionally) a quantile sketch and (optionally) histogram
/// counts over ranges known before the pass, plus the label distribution. Partials of disjoint chunk sets merge in any
/// order or grouping; serializable as JSON so that an activity can return one.
/// </summary>
public sealed class FirstPassPartial : IChunkAccumulator
{
    /// <summary>Column names, in order.</summary>
    public required IReadOnlyList<string> Columns { get; init; }

    /// <summary>Moments per column.</summary>
    public required Moments[] Moments { get; init; }

    /// <summary>Quantile sketch per column, or <see langword="null"/> when no quantiles were asked for.</summary>
    public QuantileSketch[]? Sketches { get; init; }

    /// <summary>
    /// Histogram counts of the columns whose range was known before the pass (the Parquet footers' ranges, see
    /// <see cref="FirstPassHistograms"/>), counted as the second pass would count them over that range; the other
    /// columns are not counted in it. <see langword="null"/> when no column's range was known (and in partials of
    /// histories written before the first pass could count histograms).
    /// </summary>
    public HistogramPartial? Histograms { get; init; }

    /// <summary>Rows per label value (label keys as in <see cref="StatisticsReport"/>).</summary>
    public Dictionary<string, long> Labels { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Rows seen.</summary>
    public long Rows { get; set; }

    /// <summary>Chunks seen.</summary>
    public int Chunks { get; set; }

    /// <summary>An empty partial for <paramref name="columns"/>.</summary>
    public static FirstPassPartial Create(IReadOnlyList<string> columns, bool withSketches, int sketchCapacity = QuantileSketch.DefaultCapacity) =>
        Create(columns, withSketches, sketchCapacity, histograms: null);

    /// <summary>
    /// An empty partial for <paramref name="columns"/> that also counts <paramref name="histograms"/> (an empty
    /// partial, one row per column, the columns it does not count empty; see <see cref="HistogramPartial.Create(IReadOnlyList{ColumnRange?}, int, int)"/>).
    /// </summary>
    public static FirstPassPartial Create(IReadOnlyList<string> columns, bool withSketches, int sketchCapacity, HistogramPartial? histograms)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (histograms is not null && histograms.ColumnCount != columns.Count)
        {
            throw new ArgumentException($"histograms of {histograms.ColumnCount} columns for {columns.Count} columns.", nameof(histograms));
        }

        QuantileSketch[]? sketches = null;
        if (withSketches)
        {
            sketches = new QuantileSketch[columns.Count];
            for (var i = 0; i < sketches.Length; i++)
            {
                sketches[i] = new QuantileSketch(sketchCapacity);
            }
        }

        return new FirstPassPartial { Columns = columns, Moments = new Moments[columns.Count], Sketches = sketches, Histograms = histograms };
    }

    /// <inheritdoc/>
    int IChunkAccumulator.ColumnCount => Columns.Count;

    /// <summary>Adds a chunk whose columns are <see cref="Columns"/>, in that order.</summary>
    public void Add(DecodedChunk chunk, IStatisticsKernel kernel) => ChunkAccumulator.Add(this, chunk, kernel);

    /// <summary>
    /// Adds column <paramref name="index"/> of a chunk (as a reader hands it over, see
    /// <see cref="DatasetReader.ReadChunkAsync(DatasetDescription, ChunkLocation, IReadOnlyList{DatasetColumn}?, Action{int, ChunkColumn}?, CancellationToken)"/>);
    /// call <see cref="CompleteChunk"/> once the chunk's columns are in. All the first pass's work on a column is
    /// here, while its values are in the CPU cache: moments, sketch, and histogram when the column is counted.
    /// </summary>
    public void AddColumn(int index, ChunkColumn column, IStatisticsKernel kernel)
    {
        ArgumentNullException.ThrowIfNull(column);
        ArgumentNullException.ThrowIfNull(kernel);
        var moments = column.IsFloat32 ? kernel.ComputeMoments(column.Float32Values) : kernel.ComputeMoments(column.Float64Values);
        Moments[index] = Numerics.Moments.Merge(Moments[index], moments);
        if (Sketches is not null)
        {
            if (column.IsFloat32)
            {
                Sketches[index].Add(column.Float32Values);
            }
            else
            {
                Sketches[index].Add(column.Float64Values);
            }
        }

        if (Histograms is not null && Histograms.IsCounted(index))
        {
            Histograms.AddColumn(index, column, kernel);
        }
    }

    /// <summary>
    /// This partial with <paramref name="histograms"/> (counted over the same chunks, one row per column) in place of
    /// its own; the other statistics are shared, not copied.
    /// </summary>
    internal FirstPassPartial WithHistograms(HistogramPartial histograms)
    {
        if (histograms.ColumnCount != Columns.Count || histograms.Chunks != Chunks)
        {
            throw new ArgumentException($"histograms of {histograms.ColumnCount} columns and {histograms.Chunks} chunks for {Columns.Count} columns and {Chunks} chunks.", nameof(histograms));
        }

        return new FirstPassPartial
        {
            Columns = Columns,
            Moments = Moments,
            Sketches = Sketches,
            Histograms = histograms,
            Labels = Labels,
            Rows = Rows,
            Chunks = Chunks,
        };
    }

    /// <summary>Counts the chunk's rows and labels once its columns were added with <see cref="AddColumn"/>.</summary>
    public void CompleteChunk(DecodedChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ChunkAccumulator.CheckColumns(this, chunk);
        if (chunk.Label is not null)
        {
            LabelCounts.Add(chunk.Label, Labels);
        }

        Histograms?.CompleteChunk(chunk);
        Rows += chunk.RowCount;
        Chunks++;
    }

    /// <summary>Adds <paramref name="other"/> (disjoint chunks, same columns) into this partial.</summary>
    public void Merge(FirstPassPartial other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!other.Columns.SequenceEqual(Columns, StringComparer.Ordinal) || (other.Sketches is null) != (Sketches is null) || (other.Histograms is null) != (Histograms is null))
        {
            throw new ArgumentException("partials of different columns, sketch or histogram settings cannot merge.", nameof(other));
        }

        // Before anything changes: a histogram that cannot merge (other ranges) leaves this partial as it was.
        Histograms?.Merge(other.Histograms!);

        for (var i = 0; i < Columns.Count; i++)
        {
            Moments[i] = Numerics.Moments.Merge(Moments[i], other.Moments[i]);
            Sketches?[i].Merge(other.Sketches![i]);
        }

        LabelCounts.Merge(other.Labels, Labels);
        Rows += other.Rows;
        Chunks += other.Chunks;
    }
}
