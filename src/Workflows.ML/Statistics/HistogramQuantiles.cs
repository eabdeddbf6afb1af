using Workflows.ML.Kernels;
using Workflows.ML.Numerics;

namespace Workflows.ML.Statistics;

/// <summary>
/// Quantiles read off a fixed-bin histogram over a column's exact [min, max], with a guaranteed bound.
/// <para>
/// <b>Error bound.</b> The bin arithmetic (<c>(x − min)·scale</c>, truncated) is monotone in x, so every value in a
/// lower bin is smaller than every value in a higher one. For quantile q with target rank r = q·n the histogram names
/// the bin b that holds the r-th smallest value; the estimate v (linear interpolation inside b) lies in bin b' (b,
/// or a neighbour when rounding puts v on the other side of an edge). Then #{x &lt; v} &lt; r + E and
/// #{x ≤ v} ≥ r − E with E the mass of the bins from b to b' (normally the one bin b), and |v − exact| is at most
/// about one bin width (max − min) / bins. Both are reported. q = 0 and q = 1 give min and max exactly.
/// </para>
/// <para>
/// Unlike <see cref="QuantileSketch"/>, E depends on the data: a column whose mass sits in one narrow spike (one
/// outlier stretching the range a million-fold) gets a large E; the report then says so, and
/// <see cref="QuantileMethod.Sketch"/> is the method for such data.
/// </para>
/// </summary>
public static class HistogramQuantiles
{
    /// <summary>The estimate of quantile <paramref name="q"/> and its rank error bound (see the class remarks).</summary>
    /// <param name="counts">Bin counts over [<paramref name="min"/>, <paramref name="max"/>], as the kernels count them.</param>
    /// <param name="min">Smallest value of the column.</param>
    /// <param name="max">Largest value of the column.</param>
    /// <param name="q">Quantile, 0 ≤ q ≤ 1.</param>
    public static (double Value, long MaxRankError) Estimate(ReadOnlySpan<long> counts, double min, double max, double q)
    {
        if (q is < 0 or > 1 || double.IsNaN(q))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "quantiles must be between 0 and 1.");
        }

        if (counts.IsEmpty)
        {
            throw new ArgumentException("a histogram needs at least one bin.", nameof(counts));
        }

        long total = 0;
        foreach (var count in counts)
        {
            total += count;
        }

        if (total == 0)
        {
            return (double.NaN, 0);
        }

        if (q == 0 || q == 1)
        {
            return (q == 0 ? min : max, 0);
        }

        // b: the first bin whose cumulative count reaches the target rank, so below < target ≤ below + counts[b].
        var target = q * total;
        long below = 0;
        var b = 0;
        for (; b < counts.Length - 1 && below + counts[b] < target; b++)
        {
            below += counts[b];
        }

        var width = (max - min) / counts.Length;
        var value = counts[b] > 0 ? min + (b * width) + (width * Math.Min(1, (target - below) / counts[b])) : min + ((b + 0.5) * width);
        value = Math.Clamp(value, min, max);
        var landed = HistogramBins.Bin(value, min, HistogramBins.Scale(min, max, counts.Length), counts.Length);
        long error = 0;
        for (var i = Math.Min(b, landed); i <= Math.Max(b, landed); i++)
        {
            error += counts[i];
        }

        return (value, error);
    }

    /// <summary>
    /// Fine bins per reported bin when quantiles come from the histogram: the smallest power of two s with
    /// max(bins, 1)·s ≥ <paramref name="quantileBins"/>. A power of two, because then the reported histogram is the
    /// fine one summed in runs of s, bin for bin what a direct count with <paramref name="bins"/> bins gives
    /// (scaling by 2^k is exact in floating point).
    /// </summary>
    public static int SubdivisionsFor(int bins, int quantileBins)
    {
        var reported = Math.Max(bins, 1);
        var subdivisions = 1;
        while ((long)reported * subdivisions < quantileBins)
        {
            subdivisions *= 2;
        }

        return subdivisions;
    }
}
