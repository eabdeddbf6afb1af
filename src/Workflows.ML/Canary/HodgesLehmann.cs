namespace Workflows.ML.Canary;

/// <summary>
/// The Hodges–Lehmann two-sample shift estimate: the median of the n1·n2 differences x_i − y_j, computed exactly
/// without forming them, in O((n1 + n2) log(n1 + n2)) for the sorts plus at most 64 counting passes of
/// O(n1 + n2) each.
/// <para>
/// With both samples sorted, x_i − y_j (in floating point, whose rounding is monotone) grows with i and falls with j,
/// so the differences at or below any d are counted in one merge-like pass. The k-th smallest difference is the
/// smallest double d whose count reaches k; a bisection over the ordered doubles between the smallest and the largest
/// difference finds it in at most 64 steps, and it is one of the differences themselves, so the result is exactly
/// what sorting all n1·n2 differences would give.
/// </para>
/// </summary>
public static class HodgesLehmann
{
    /// <summary>The median of x_i − y_j over all pairs (the mean of the two middle ones for an even count).</summary>
    public static double Shift(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        MannWhitney.EnsureFinite(x, nameof(x));
        MannWhitney.EnsureFinite(y, nameof(y));
        var xs = x.ToArray();
        var ys = y.ToArray();
        Array.Sort(xs);
        Array.Sort(ys);
        var pairs = (long)xs.Length * ys.Length;
        var lower = Smallest(xs, ys, (pairs + 1) / 2);
        if (pairs % 2 == 1)
        {
            return lower;
        }

        var upper = Smallest(xs, ys, (pairs / 2) + 1);
        return (lower / 2) + (upper / 2);
    }

    /// <summary>The k-th smallest (1-based) difference of sorted <paramref name="x"/> and <paramref name="y"/>.</summary>
    private static double Smallest(double[] x, double[] y, long k)
    {
        var low = Ordinal(x[0] - y[^1]);
        var high = Ordinal(x[^1] - y[0]);
        while (low < high)
        {
            // The floor of the mean without overflow (ordinals may span more than half of the long range).
            var middle = (low >> 1) + (high >> 1) + (low & high & 1);
            if (CountAtMost(x, y, FromOrdinal(middle)) >= k)
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }

        return FromOrdinal(low);
    }

    /// <summary>#{(i, j): x_i − y_j ≤ d}: for each i the j that qualify are a suffix of y, which only shrinks as i grows.</summary>
    private static long CountAtMost(double[] x, double[] y, double d)
    {
        long count = 0;
        var first = 0;
        foreach (var xi in x)
        {
            while (first < y.Length && xi - y[first] > d)
            {
                first++;
            }

            count += y.Length - first;
        }

        return count;
    }

    /// <summary>A long that orders like the double (−0 and +0 both map to 0).</summary>
    private static long Ordinal(double value)
    {
        var bits = BitConverter.DoubleToInt64Bits(value);
        return bits < 0 ? -(bits & long.MaxValue) : bits;
    }

    private static double FromOrdinal(long ordinal) =>
        BitConverter.Int64BitsToDouble(ordinal < 0 ? -ordinal | long.MinValue : ordinal);
}
