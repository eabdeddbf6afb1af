namespace Workflows.ML.Monitoring;

/// <summary>
/// The binning that reference profiles, serving samples and the PSI share. Bins are cut by increasing edges: bin 0
/// holds values below <c>edges[0]</c>, bin i values in [<c>edges[i − 1]</c>, <c>edges[i]</c>), the last bin values at
/// or above the last edge; so values below the first or above the last edge go to the outer bins, and there are
/// <c>edges.Length + 1</c> bins. NaN is in no bin: callers count it apart.
/// </summary>
public static class ReferenceBins
{
    /// <summary>The bin of <paramref name="value"/> (not NaN): the number of edges at or below it.</summary>
    public static int BinOf(ReadOnlySpan<double> edges, double value)
    {
        int low = 0, high = edges.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (edges[middle] <= value)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>Adds each value of <paramref name="values"/> to its bin of <paramref name="counts"/> (edges.Length + 1 long); returns the NaN values skipped.</summary>
    public static long Count(ReadOnlySpan<double> edges, ReadOnlySpan<float> values, Span<long> counts)
    {
        if (counts.Length != edges.Length + 1)
        {
            throw new ArgumentException($"{edges.Length} edges make {edges.Length + 1} bins, not {counts.Length}.", nameof(counts));
        }

        long missing = 0;
        foreach (var value in values)
        {
            if (float.IsNaN(value))
            {
                missing++;
                continue;
            }

            counts[BinOf(edges, value)]++;
        }

        return missing;
    }

    /// <summary>
    /// The cut points that split a distribution into <paramref name="bins"/> bins of equal mass: its quantiles at
    /// i / bins for i = 1 .. bins − 1, read by <paramref name="quantile"/>, with repeats dropped (a value that fills
    /// several quantiles, e.g. the 0 of a sparse feature, is one edge), so there may be fewer.
    /// </summary>
    public static double[] QuantileEdges(int bins, Func<double, double> quantile)
    {
        ArgumentNullException.ThrowIfNull(quantile);
        if (bins < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(bins), bins, "need at least 2 bins.");
        }

        var edges = new List<double>(bins - 1);
        for (var i = 1; i < bins; i++)
        {
            var edge = quantile((double)i / bins);
            if (double.IsNaN(edge))
            {
                continue;
            }

            if (edges.Count == 0 || edge > edges[^1])
            {
                edges.Add(edge);
            }
        }

        return [.. edges];
    }
}
