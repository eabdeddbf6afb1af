using Parquet.Data;

namespace Workflows.ML.Data;

/// <summary>
/// Each chunk's range of each numeric feature column as the Parquet footer states it (row-group column statistics),
/// read by <see cref="DatasetReader.DescribeWithFooterRangesAsync"/> in the footer read that describes the dataset.
/// A range is only a claim of the file's writer: the statistics use it to count histograms in the first pass and
/// check it against the values they saw before they trust those counts.
/// </summary>
public sealed class FooterRanges
{
    private readonly IReadOnlyList<DatasetColumn> _columns;

    // [chunk position][column index in _columns]; null where the footer has no usable range.
    private readonly ColumnRange?[][] _ranges;

    private FooterRanges(IReadOnlyList<DatasetColumn> columns, ColumnRange?[][] ranges)
    {
        _columns = columns;
        _ranges = ranges;
    }

    /// <summary>Chunks the table covers (the dataset's chunks, in dataset order).</summary>
    public int ChunkCount => _ranges.Length;

    /// <summary>A table without a single range (CSV has no footer statistics): every merged range is null.</summary>
    public static FooterRanges None(DatasetDescription dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var ranges = new ColumnRange?[dataset.Chunks.Count][];
        for (var chunk = 0; chunk < ranges.Length; chunk++)
        {
            ranges[chunk] = new ColumnRange?[dataset.Columns.Count];
        }

        return new FooterRanges(dataset.Columns, ranges);
    }

    /// <summary>
    /// The ranges of <paramref name="columns"/> over the chunks at <paramref name="chunkPositions"/> (all chunks when
    /// null): min of the chunks' mins, max of their maxes, one per column in the order given. A column's range is
    /// null when any of those chunks has no usable range for it (no statistics, a missing, NaN or infinite bound, a
    /// type that does not convert), when it is not a column of the table, or when no chunk is named.
    /// </summary>
    public IReadOnlyList<ColumnRange?> Merge(IReadOnlyList<int>? chunkPositions, IReadOnlyList<DatasetColumn> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        var merged = new ColumnRange?[columns.Count];
        var count = chunkPositions?.Count ?? _ranges.Length;
        if (count == 0)
        {
            return merged;
        }

        for (var i = 0; i < columns.Count; i++)
        {
            var column = IndexOf(columns[i]);
            if (column < 0)
            {
                continue;
            }

            var min = double.PositiveInfinity;
            var max = double.NegativeInfinity;
            var complete = true;
            for (var c = 0; c < count && complete; c++)
            {
                var position = chunkPositions?[c] ?? c;
                if (position < 0 || position >= _ranges.Length)
                {
                    throw new ArgumentOutOfRangeException(nameof(chunkPositions), position, $"the dataset has {_ranges.Length} chunks.");
                }

                if (_ranges[position][column] is { } range)
                {
                    min = Math.Min(min, range.Min);
                    max = Math.Max(max, range.Max);
                }
                else
                {
                    complete = false;
                }
            }

            merged[i] = complete ? new ColumnRange(min, max) : null;
        }

        return merged;
    }

    /// <summary>The table of a Parquet dataset: per chunk (dataset order), its ranges of <paramref name="columns"/> in that order.</summary>
    internal static FooterRanges FromChunks(IReadOnlyList<DatasetColumn> columns, IReadOnlyList<ColumnRange?[]> chunks)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(chunks);
        return new FooterRanges(columns, [.. chunks]);
    }

    /// <summary>
    /// A footer bound as a double, or null when it is missing, not one of the numeric column types, NaN or infinite.
    /// Integers convert as the reader widens them, so a range compares equal to the values the statistics see.
    /// </summary>
    internal static double? Bound(object? value)
    {
        double? bound = value switch
        {
            float f => f,
            double d => d,
            int i => i,
            long l => double.CreateTruncating(l),
            _ => null,
        };
        return bound is { } b && double.IsFinite(b) ? b : null;
    }

    /// <summary>
    /// The usable range of one row group's column statistics, or null (see <see cref="Bound"/>; also min &gt; max). A row
    /// group whose values are all null has no range, whatever the footer says: Parquet.Net 6.1 writes min = max = 0 then.
    /// (It skips NaN when computing the bounds, except that a leading NaN makes both NaN: rejected by <see cref="Bound"/>.)
    /// </summary>
    internal static ColumnRange? RangeOf(DataColumnStatistics? statistics, long rows)
    {
        if (statistics is null || rows <= 0 || statistics.NullCount >= rows
            || Bound(statistics.MinValue) is not { } min || Bound(statistics.MaxValue) is not { } max || min > max)
        {
            return null;
        }

        return new ColumnRange(min, max);
    }

    private int IndexOf(DatasetColumn column)
    {
        for (var i = 0; i < _columns.Count; i++)
        {
            if (string.Equals(_columns[i].Name, column.Name, StringComparison.Ordinal) && _columns[i].Type == column.Type)
            {
                return i;
            }
        }

        return -1;
    }
}
