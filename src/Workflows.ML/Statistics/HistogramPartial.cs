using System.Text.Json.Serialization;
using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Numerics;

namespace Workflows.ML.Statistics;

/// <summary>
/// Second-pass statistics of some chunks: fixed-bin histogram counts per column over the global [min, max] that
/// the first pass found. Counts add, so partials merge exactly in any order. With <see cref="Subdivisions"/> above 1
/// each reported bin is counted as that many fine bins, from which <see cref="HistogramQuantiles"/> reads quantiles;
/// <see cref="ReportedCounts"/> folds them back into the reported bins.
/// <para>
/// A column may be left uncounted: its <see cref="Counts"/> row is empty (and its range 0..0). The first pass counts
/// only the columns whose range the Parquet footers state (see <see cref="FirstPassHistograms"/>); the others are
/// counted by the second pass. Uncounted columns take no values, merge only with uncounted columns, and have no
/// reported counts.
/// </para>
/// </summary>
public sealed class HistogramPartial : IChunkAccumulator
{
    /// <summary>Lower end of each column's range.</summary>
    public required double[] Min { get; init; }

    /// <summary>Upper end of each column's range.</summary>
    public required double[] Max { get; init; }

    private long[][]? _counts;
    private CompactCounts? _compact;

    /// <summary>
    /// Bin counts per column: <see cref="Bins"/> × <see cref="Subdivisions"/> fine bins, or none for a column not
    /// counted. A partial that an activity's counter made or that was read from JSON holds them compact (see
    /// <see cref="CompactCounts"/>) until they are first asked for here; merging one into another adds them straight
    /// from the compact bytes.
    /// </summary>
    [JsonIgnore]
    public long[][] Counts
    {
        get
        {
            if (_counts is null)
            {
                _counts = (_compact ?? throw new InvalidOperationException("a histogram partial made without counts.")).Expand();
                _compact = null;
            }

            return _counts;
        }

        init => _counts = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>The counts in JSON: one base64 string of varints (see <see cref="CompactCountsJsonConverter"/>).</summary>
    [JsonInclude]
    [JsonRequired]
    [JsonPropertyName("counts")]
    internal CompactCounts CountsPayload
    {
        get => _compact ?? CompactCounts.Encode(Counts);
        init => _compact = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Whether the counts are still compact (not yet asked for as rows).</summary>
    internal bool IsCompact => _counts is null;

    /// <summary>Fine bins per reported bin (a power of two; 1 when no quantiles are read from the histogram).</summary>
    public int Subdivisions { get; init; } = 1;

    /// <summary>Reported bins per counted column (0 when no column is counted).</summary>
    [JsonIgnore]
    public int Bins
    {
        get
        {
            for (var i = 0; i < ColumnCount; i++)
            {
                if (RowLength(i) > 0)
                {
                    return RowLength(i) / Subdivisions;
                }
            }

            return 0;
        }
    }

    /// <summary>Chunks seen.</summary>
    public int Chunks { get; set; }

    /// <summary>
    /// An empty partial with <paramref name="bins"/> bins, each counted as <paramref name="subdivisions"/> fine bins
    /// (a power of two), over each column's range of <paramref name="first"/>.
    /// </summary>
    public static HistogramPartial Create(IReadOnlyList<Moments> first, int bins, int subdivisions = 1)
    {
        return Create(RangesOf(first), bins, subdivisions);
    }

    /// <summary>
    /// An empty partial with <paramref name="bins"/> bins, each counted as <paramref name="subdivisions"/> fine bins
    /// (a power of two), over each column's range in <paramref name="ranges"/>; a column whose range is null is not
    /// counted (an empty row of <see cref="Counts"/>, range 0..0).
    /// </summary>
    public static HistogramPartial Create(IReadOnlyList<ColumnRange?> ranges, int bins, int subdivisions = 1)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        CheckBins(bins, subdivisions);
        var min = new double[ranges.Count];
        var max = new double[ranges.Count];
        var counts = new long[ranges.Count][];
        for (var i = 0; i < ranges.Count; i++)
        {
            if (ranges[i] is { } range)
            {
                min[i] = range.Min;
                max[i] = range.Max;
                counts[i] = new long[checked(bins * subdivisions)];
            }
            else
            {
                counts[i] = [];
            }
        }

        return new HistogramPartial { Min = min, Max = max, Counts = counts, Subdivisions = subdivisions };
    }

    /// <summary>The bin ranges of the columns' first-pass <paramref name="moments"/> (their min and max).</summary>
    internal static ColumnRange?[] RangesOf(IReadOnlyList<Moments> moments)
    {
        ArgumentNullException.ThrowIfNull(moments);
        var ranges = new ColumnRange?[moments.Count];
        for (var i = 0; i < ranges.Length; i++)
        {
            ranges[i] = new ColumnRange(moments[i].Min, moments[i].Max);
        }

        return ranges;
    }

    /// <summary>Throws when <paramref name="bins"/> is below 1 or <paramref name="subdivisions"/> is not a power of two.</summary>
    internal static void CheckBins(int bins, int subdivisions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        if (subdivisions < 1 || !int.IsPow2(subdivisions))
        {
            throw new ArgumentOutOfRangeException(nameof(subdivisions), subdivisions, "subdivisions must be a power of two.");
        }
    }

    /// <summary>Whether column <paramref name="column"/> is counted (see the class remarks).</summary>
    public bool IsCounted(int column) => RowLength(column) > 0;

    /// <summary>Columns, counted or not.</summary>
    internal int ColumnCount => _counts?.Length ?? _compact!.RowCount;

    /// <inheritdoc/>
    int IChunkAccumulator.ColumnCount => ColumnCount;

    /// <summary>
    /// A partial over <paramref name="min"/>..<paramref name="max"/> per column whose counts stay compact until they
    /// are asked for (see <see cref="Counts"/>).
    /// </summary>
    internal static HistogramPartial FromCompact(double[] min, double[] max, CompactCounts counts, int subdivisions, int chunks) =>
        new() { Min = min, Max = max, CountsPayload = counts, Subdivisions = subdivisions, Chunks = chunks };

    /// <summary>Fine bins of column <paramref name="column"/> (0 when not counted), without expanding compact counts.</summary>
    private int RowLength(int column) => _counts is { } counts ? counts[column].Length : _compact!.RowLength(column);

    /// <summary>Adds a chunk whose columns are those of the first pass, in that order.</summary>
    public void Add(DecodedChunk chunk, IStatisticsKernel kernel) => ChunkAccumulator.Add(this, chunk, kernel);

    /// <summary>
    /// Adds column <paramref name="index"/> of a chunk (nothing when that column is not counted); call
    /// <see cref="CompleteChunk"/> after the last one.
    /// </summary>
    public void AddColumn(int index, ChunkColumn column, IStatisticsKernel kernel)
    {
        ArgumentNullException.ThrowIfNull(column);
        ArgumentNullException.ThrowIfNull(kernel);
        if (Counts[index].Length == 0)
        {
            return;
        }

        Count(column, Min[index], Max[index], Counts[index], kernel);
    }

    /// <summary>Adds <paramref name="column"/>'s values to <paramref name="counts"/>, bins over [<paramref name="min"/>, <paramref name="max"/>].</summary>
    internal static void Count(ChunkColumn column, double min, double max, Span<long> counts, IStatisticsKernel kernel)
    {
        if (column.IsFloat32)
        {
            kernel.AddToHistogram(column.Float32Values, min, max, counts);
        }
        else
        {
            kernel.AddToHistogram(column.Float64Values, min, max, counts);
        }
    }

    /// <inheritdoc cref="Count(ChunkColumn, double, double, Span{long}, IStatisticsKernel)"/>
    internal static void Count(ChunkColumn column, double min, double max, Span<int> counts, IStatisticsKernel kernel)
    {
        if (column.IsFloat32)
        {
            kernel.AddToHistogram(column.Float32Values, min, max, counts);
        }
        else
        {
            kernel.AddToHistogram(column.Float64Values, min, max, counts);
        }
    }

    /// <summary>Counts the chunk once its columns were added with <see cref="AddColumn"/>.</summary>
    public void CompleteChunk(DecodedChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ChunkAccumulator.CheckColumns(this, chunk);
        Chunks++;
    }

    /// <summary>Adds the counts of <paramref name="other"/> (same ranges and bins, the same columns counted).</summary>
    public void Merge(HistogramPartial other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.ColumnCount != ColumnCount || other.Subdivisions != Subdivisions)
        {
            throw new ArgumentException("histogram partials of different columns or subdivisions cannot merge.", nameof(other));
        }

        for (var i = 0; i < ColumnCount; i++)
        {
            if (other.Min[i] != Min[i] || other.Max[i] != Max[i] || other.RowLength(i) != RowLength(i))
            {
                throw new ArgumentException($"histogram of column {i} has another range or bin count.", nameof(other));
            }
        }

        // Checked first: a partial that cannot merge leaves this one as it was.
        var counts = Counts;
        for (var i = 0; i < counts.Length; i++)
        {
            if (other._counts is { } rows)
            {
                var row = counts[i];
                for (var b = 0; b < row.Length; b++)
                {
                    row[b] += rows[i][b];
                }
            }
            else
            {
                other._compact!.AddRowTo(i, counts[i]);
            }
        }

        Chunks += other.Chunks;
    }

    /// <summary>
    /// Column <paramref name="column"/>'s counts in the reported bins: the fine bins summed in runs of
    /// <see cref="Subdivisions"/>, exactly what counting with <see cref="Bins"/> bins gives; empty for a column not counted.
    /// </summary>
    public long[] ReportedCounts(int column)
    {
        var fine = Counts[column];
        var reported = new long[fine.Length / Subdivisions];
        for (var b = 0; b < fine.Length; b++)
        {
            reported[b / Subdivisions] += fine[b];
        }

        return reported;
    }
}
