namespace Workflows.ML.Monitoring;

/// <summary>
/// The population stability index, PSI = Σ (a_i − e_i) · ln(a_i / e_i) over bins, with e_i the expected (reference)
/// and a_i the actual share of bin i. It is 0 for equal distributions and grows with the shift; the customary reading
/// is below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a significant one.
/// <para>
/// An empty bin would make the logarithm infinite, so a share of 0 on either side counts as <see cref="DefaultEpsilon"/>
/// (1e-4, the constant common PSI implementations use); the other shares are left as they are. The index is then at
/// most about ln(1e4) ≈ 9.2 per bin.
/// </para>
/// </summary>
public static class PopulationStability
{
    /// <summary>The share an empty bin counts as.</summary>
    public const double DefaultEpsilon = 1e-4;

    /// <summary>PSI of <paramref name="actual"/> shares against <paramref name="expected"/> shares (same bins).</summary>
    public static double Index(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double epsilon = DefaultEpsilon)
    {
        if (expected.Length != actual.Length)
        {
            throw new ArgumentException($"{expected.Length} expected and {actual.Length} actual bins.", nameof(actual));
        }

        if (!(epsilon > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be positive.");
        }

        double psi = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            var e = expected[i] > 0 ? expected[i] : epsilon;
            var a = actual[i] > 0 ? actual[i] : epsilon;
            psi += (a - e) * Math.Log(a / e);
        }

        return psi;
    }

    /// <summary>PSI of <paramref name="actualCounts"/> (counts in the same bins) against <paramref name="expected"/> shares; NaN when nothing was counted.</summary>
    public static double Index(ReadOnlySpan<double> expected, ReadOnlySpan<long> actualCounts, double epsilon = DefaultEpsilon)
    {
        long total = 0;
        foreach (var count in actualCounts)
        {
            total += count;
        }

        if (total == 0)
        {
            return double.NaN;
        }

        var actual = new double[actualCounts.Length];
        for (var i = 0; i < actual.Length; i++)
        {
            actual[i] = (double)actualCounts[i] / total;
        }

        return Index(expected, actual, epsilon);
    }

    /// <summary>
    /// PSI of one sample against another, e.g. a candidate model's predictions against the stable model's on the same
    /// traffic: <paramref name="bins"/> bins of equal mass in <paramref name="expected"/> (its exact quantiles, the
    /// lower order statistic), then both samples' shares. NaN values are left out; NaN when either sample has none.
    /// </summary>
    public static double BetweenSamples(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, int bins = ReferenceProfile.DefaultBinCount, double epsilon = DefaultEpsilon)
    {
        var sorted = WithoutNaN(expected);
        var other = WithoutNaN(actual);
        if (sorted.Length == 0 || other.Length == 0)
        {
            return double.NaN;
        }

        Array.Sort(sorted);
        // Quantile i / bins is the ceil(i·n / bins)-th smallest value, in integers (q·n in floating point may round up past a whole rank).
        var edges = ReferenceBins.QuantileEdges(bins, q =>
        {
            var i = (long)Math.Round(q * bins);
            return sorted[(int)(((i * sorted.Length) + bins - 1) / bins) - 1];
        });
        return Index(Shares(edges, sorted), Shares(edges, other), epsilon);
    }

    private static double[] Shares(ReadOnlySpan<double> edges, double[] values)
    {
        var shares = new double[edges.Length + 1];
        foreach (var value in values)
        {
            shares[ReferenceBins.BinOf(edges, value)]++;
        }

        for (var i = 0; i < shares.Length; i++)
        {
            shares[i] /= values.Length;
        }

        return shares;
    }

    private static double[] WithoutNaN(ReadOnlySpan<double> values)
    {
        var kept = new List<double>(values.Length);
        foreach (var value in values)
        {
            if (!double.IsNaN(value))
            {
                kept.Add(value);
            }
        }

        return [.. kept];
    }
}
