using Workflows.ML.Data;
using Workflows.ML.Numerics;

namespace Workflows.ML.Statistics;

/// <summary>
/// One pass instead of two: when the Parquet footers state a column's range before the first pass, the first pass
/// counts its histogram over that range (<see cref="FirstPassPartial.Histograms"/>). Those counts are used only when the
/// range is exactly the range the first pass found in the values (min and max equal as numbers): then they are bin
/// for bin what the second pass counts over the first pass's range (same min, max and scale), so exactness does not
/// change. Every other column (no footer range, or a footer that was not exact) goes through the second pass, and
/// <see cref="Combine"/> puts both together in column order.
/// </summary>
public static class FirstPassHistograms
{
    /// <summary>
    /// Whether a histogram counted over <paramref name="counted"/> (the footers' range, null when the column was not
    /// counted) can stand for the second pass's over the merged first pass's range: only when both bounds are equal.
    /// </summary>
    public static bool IsExact(ColumnRange? counted, Moments merged) =>
        counted is not null && merged.Count > 0 && counted.Min == merged.Min && counted.Max == merged.Max;

    /// <summary>
    /// The columns (indices, ascending) whose histogram the second pass must count: those the merged first pass
    /// <paramref name="merged"/> did not count, or counted over a range other than the one its values had.
    /// </summary>
    public static IReadOnlyList<int> SecondPassColumns(FirstPassPartial merged)
    {
        ArgumentNullException.ThrowIfNull(merged);
        var columns = new List<int>();
        for (var i = 0; i < merged.Columns.Count; i++)
        {
            var counted = merged.Histograms is { } histograms && histograms.IsCounted(i) ? new ColumnRange(histograms.Min[i], histograms.Max[i]) : null;
            if (!IsExact(counted, merged.Moments[i]))
            {
                columns.Add(i);
            }
        }

        return columns;
    }

    /// <summary>
    /// Every column's histogram in column order, over the merged first pass's ranges: the first pass's counts for the
    /// columns not in <paramref name="secondPassColumns"/>, <paramref name="secondPass"/>'s (whose columns are exactly
    /// <paramref name="secondPassColumns"/>, in that order) for the others. The result is what a second pass over all
    /// columns would have counted.
    /// </summary>
    public static HistogramPartial Combine(FirstPassPartial merged, IReadOnlyList<int> secondPassColumns, HistogramPartial? secondPass, int bins, int subdivisions)
    {
        ArgumentNullException.ThrowIfNull(merged);
        ArgumentNullException.ThrowIfNull(secondPassColumns);
        if (secondPassColumns.Count > 0 && (secondPass is null || secondPass.ColumnCount != secondPassColumns.Count))
        {
            throw new ArgumentException($"the second pass must count the {secondPassColumns.Count} columns it was asked for.", nameof(secondPass));
        }

        var fine = checked(bins * subdivisions);
        var count = merged.Columns.Count;
        var min = new double[count];
        var max = new double[count];
        var counts = new long[count][];
        var next = 0;
        for (var i = 0; i < count; i++)
        {
            // The reported range is the values' own, as the second pass would have it (equal to the footers' where they were used).
            min[i] = merged.Moments[i].Min;
            max[i] = merged.Moments[i].Max;
            if (next < secondPassColumns.Count && secondPassColumns[next] == i)
            {
                counts[i] = secondPass!.Counts[next];
                Check(secondPass.Min[next] == min[i] && secondPass.Max[next] == max[i] && secondPass.Subdivisions == subdivisions, i, "the second pass counted it over another range or subdivisions");
                next++;
            }
            else
            {
                var first = merged.Histograms;
                Check(first is not null && first.Subdivisions == subdivisions && IsExact(first.IsCounted(i) ? new ColumnRange(first.Min[i], first.Max[i]) : null, merged.Moments[i]), i, "the first pass did not count it over its exact range");
                counts[i] = first!.Counts[i];
            }

            Check(counts[i].Length == fine, i, $"{counts[i].Length} fine bins where {fine} were asked for");
        }

        Check(next == secondPassColumns.Count, next, "second-pass columns must be ascending column indices");
        return new HistogramPartial { Min = min, Max = max, Counts = counts, Subdivisions = subdivisions, Chunks = merged.Chunks };
    }

    private static void Check(bool condition, int column, string reason)
    {
        if (!condition)
        {
            throw new ArgumentException($"cannot combine the histograms of column {column}: {reason}.");
        }
    }
}
