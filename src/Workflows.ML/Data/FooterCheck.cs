using System.Numerics;
using Parquet.Data;

namespace Workflows.ML.Data;

/// <summary>
/// Checks a decoded Parquet column against what the file's footer states about it, so that damaged data pages fail
/// the read instead of yielding wrong numbers (Parquet.Net verifies no page checksums, and writes none, so generated
/// files have none for <see cref="PageChecksums"/> to verify: see decision 0015). The rules,
/// per row group and column:
/// <list type="bullet">
/// <item>every decoded value that is not NaN lies within the footer's [min, max] when the footer has a usable range
/// (<see cref="FooterRanges.RangeOf"/>: a missing, NaN or infinite bound, or an all-null row group, is no range and is
/// not checked this way);</item>
/// <item>the decoded nulls equal the footer's null count when it states one;</item>
/// <item>the decoded NaNs equal the NaN count the writer recorded in the file's key-value metadata
/// (<see cref="NanCountsKey"/>, written by <see cref="ParquetChunkWriter"/>) when there is one.</item>
/// </list>
/// Each check is one vectorized pass over the column (comparisons, no branches per value).
/// </summary>
internal static class FooterCheck
{
    /// <summary>
    /// Key-value metadata key of the NaN counts: per row group (separated by <c>;</c>) the NaN count of each data field
    /// in schema order (separated by <c>,</c>).
    /// </summary>
    public const string NanCountsKey = "workflows.nan_counts";

    /// <summary>Throws <see cref="DatasetException"/> naming the file, row group and column when the column contradicts its footer.</summary>
    public static void Check(ChunkLocation chunk, ChunkColumn column, int nulls, DataColumnStatistics? statistics, long? nanCount)
    {
        if (statistics?.NullCount is { } footerNulls && footerNulls != nulls)
        {
            throw DatasetReader.CorruptColumn(chunk, column.Name, "decodes to another number of nulls than its footer statistics state (decoded nulls must equal the footer's null count)");
        }

        var range = FooterRanges.RangeOf(statistics, column.Length);
        if (range is null && nanCount is null)
        {
            return;
        }

        bool outside;
        long nans;
        if (column.IsFloat32)
        {
            var min = float.NegativeInfinity;
            var max = float.PositiveInfinity;
            if (range is not null)
            {
                min = (float)range.Min;
                max = (float)range.Max;
                min = min > range.Min ? MathF.BitDecrement(min) : min;
                max = max < range.Max ? MathF.BitIncrement(max) : max;
            }

            (outside, nans) = Scan(column.Float32Values, min, max);
        }
        else
        {
            (outside, nans) = Scan(column.Float64Values, range?.Min ?? double.NegativeInfinity, range?.Max ?? double.PositiveInfinity);
        }

        if (outside)
        {
            throw DatasetReader.CorruptColumn(chunk, column.Name, "has a value outside the [min, max] its footer statistics state (decoded values must lie within the row group's footer range)");
        }

        // NaNs the decoder made of nulls are not the writer's NaNs.
        if (nanCount is { } expected && nans - nulls != expected)
        {
            throw DatasetReader.CorruptColumn(chunk, column.Name, $"decodes to another number of NaN values than the file's '{NanCountsKey}' metadata states (decoded NaNs must equal the writer's count)");
        }
    }

    /// <summary>
    /// The NaN counts of the data fields of the chunk's row group, in schema order, as the metadata value of
    /// <see cref="NanCountsKey"/> states them (split once per chunk), or null when the file has none for the row group.
    /// </summary>
    public static string[]? NanCounts(ChunkLocation chunk, string? counts)
    {
        if (counts is null)
        {
            return null;
        }

        var groups = counts.Split(';');
        return chunk.RowGroup < groups.Length ? groups[chunk.RowGroup].Split(',') : null;
    }

    /// <summary>
    /// The NaN count of data field <paramref name="field"/> from <paramref name="counts"/> (see <see cref="NanCounts"/>),
    /// or null when there is none for it. A count that does not parse is itself damage: it fails naming the file.
    /// </summary>
    public static long? NanCount(ChunkLocation chunk, string[]? counts, int field)
    {
        if (counts is null || field >= counts.Length)
        {
            return null;
        }

        return long.TryParse(counts[field], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            ? count
            : throw new DatasetException($"chunk {chunk.Index}: '{chunk.File}' has unreadable '{NanCountsKey}' metadata; the file is corrupt.");
    }

    /// <summary>Whether any value lies below <paramref name="min"/> or above <paramref name="max"/> (NaN never does), and the NaN count.</summary>
    private static (bool Outside, long NaNs) Scan<T>(ReadOnlySpan<T> values, T min, T max)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var lower = new Vector<T>(min);
        var upper = new Vector<T>(max);
        var outside = Vector<T>.Zero;
        long nans = 0;
        var i = 0;
        var width = Vector<T>.Count;
        for (; i <= values.Length - width; i += width)
        {
            var v = new Vector<T>(values[i..]);
            outside |= Vector.LessThan(v, lower) | Vector.GreaterThan(v, upper);
            var isNaN = ~Vector.Equals(v, v);
            if (isNaN != Vector<T>.Zero)
            {
                for (var lane = 0; lane < width; lane++)
                {
                    nans += T.IsNaN(v[lane]) ? 1 : 0;
                }
            }
        }

        var any = outside != Vector<T>.Zero;
        for (; i < values.Length; i++)
        {
            any |= values[i] < min || values[i] > max;
            nans += T.IsNaN(values[i]) ? 1 : 0;
        }

        return (any, nans);
    }
}
