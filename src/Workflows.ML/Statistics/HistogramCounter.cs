using System.Buffers;
using Workflows.ML.Data;
using Workflows.ML.Kernels;

namespace Workflows.ML.Statistics;

/// <summary>
/// Counts the histograms of one activity's chunks (either pass) into one pooled buffer and builds the
/// <see cref="HistogramPartial"/> only at the end (<see cref="ToPartial"/>).
/// <para>
/// Why not count straight into a partial: its rows (fine bins × columns: 4 MB for 100 columns of 5,120 bins) would be
/// allocated when the pass starts and live through every garbage collection the decoder's allocations trigger, so
/// the collector copied them from generation to generation, once per activity. A pooled buffer is old and is not
/// copied; the partial built at the end dies young. Measured on two cores, the one pass over 1 M rows × 100 columns
/// in groups of 10 chunks, best of 11 interleaved rounds: 0.214 s counting into the partial, 0.184 s with this counter
/// (the decode alone: 0.128 s).
/// </para>
/// </summary>
internal sealed class HistogramCounter : IChunkAccumulator, IDisposable
{
    private readonly IReadOnlyList<ColumnRange?> _ranges;
    private readonly int _subdivisions;
    private readonly int _fineBins;

    /// <summary>Start of each counted column's row in <see cref="_counts"/>; -1 for a column not counted.</summary>
    private readonly int[] _offsets;
    private long[]? _counts;
    private int _chunks;

    /// <summary>
    /// A counter of <paramref name="bins"/> bins of <paramref name="subdivisions"/> fine bins each over each column's
    /// range (a null range: the column is not counted), as <see cref="HistogramPartial.Create(IReadOnlyList{ColumnRange?}, int, int)"/>.
    /// </summary>
    public HistogramCounter(IReadOnlyList<ColumnRange?> ranges, int bins, int subdivisions)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        HistogramPartial.CheckBins(bins, subdivisions);
        _ranges = ranges;
        _subdivisions = subdivisions;
        _fineBins = checked(bins * subdivisions);
        _offsets = new int[ranges.Count];
        var length = 0;
        for (var i = 0; i < ranges.Count; i++)
        {
            _offsets[i] = ranges[i] is null ? -1 : length;
            length = ranges[i] is null ? length : checked(length + _fineBins);
        }

        _counts = ArrayPool<long>.Shared.Rent(length);
        Array.Clear(_counts, 0, length);
    }

    /// <inheritdoc/>
    public int ColumnCount => _ranges.Count;

    /// <summary>Adds column <paramref name="index"/> of a chunk (nothing when that column is not counted).</summary>
    public void AddColumn(int index, ChunkColumn column, IStatisticsKernel kernel)
    {
        ArgumentNullException.ThrowIfNull(column);
        ArgumentNullException.ThrowIfNull(kernel);
        if (_ranges[index] is not { } range)
        {
            return;
        }

        HistogramPartial.Count(column, range.Min, range.Max, Counts.AsSpan(_offsets[index], _fineBins), kernel);
    }

    /// <summary>Counts the chunk once its columns were added.</summary>
    public void CompleteChunk(DataChunk chunk)
    {
        ChunkAccumulator.CheckColumns(this, chunk);
        _chunks++;
    }

    /// <summary>
    /// The counts so far, as a partial of its own whose counts are compact (see <see cref="CompactCounts"/>): an
    /// activity's partial is serialized, or merged, never counted into, so its dense rows are not built (the counter
    /// goes on counting).
    /// </summary>
    public HistogramPartial ToPartial()
    {
        var lengths = new int[_offsets.Length];
        var min = new double[_offsets.Length];
        var max = new double[_offsets.Length];
        for (var i = 0; i < _offsets.Length; i++)
        {
            if (_ranges[i] is { } range)
            {
                lengths[i] = _fineBins;
                min[i] = range.Min;
                max[i] = range.Max;
            }
        }

        return HistogramPartial.FromCompact(min, max, CompactCounts.Encode(Counts, lengths), _subdivisions, _chunks);
    }

    /// <summary>Gives the buffer back to the pool.</summary>
    public void Dispose()
    {
        if (_counts is { } counts)
        {
            _counts = null;
            ArrayPool<long>.Shared.Return(counts);
        }
    }

    private long[] Counts => _counts ?? throw new ObjectDisposedException(nameof(HistogramCounter));
}
