using System.Text.Json.Serialization;

namespace Workflows.ML.Numerics;

/// <summary>
/// Count, mean, sum of squared deviations (M2), min and max of the non-missing values of a column, plus the number
/// of missing (NaN or null) values. Partial results merge with Chan et al.'s parallel algorithm, which stays exact
/// where the textbook sum / sum-of-squares formula cancels catastrophically (data far from zero, e.g. offset 1e9).
/// </summary>
/// <param name="Count">Non-missing values.</param>
/// <param name="Missing">NaN or null values (not in any other field).</param>
/// <param name="Mean">Mean of the non-missing values; 0 when <paramref name="Count"/> is 0.</param>
/// <param name="M2">Sum of squared deviations from <paramref name="Mean"/>.</param>
/// <param name="Min">Smallest value; 0 when <paramref name="Count"/> is 0 (JSON has no infinities).</param>
/// <param name="Max">Largest value; 0 when <paramref name="Count"/> is 0.</param>
public readonly record struct Moments(long Count, long Missing, double Mean, double M2, double Min, double Max)
{
    /// <summary>Nothing seen yet.</summary>
    public static Moments Empty => default;

    /// <summary>Population variance M2/n; NaN when there are no values.</summary>
    [JsonIgnore]
    public double PopulationVariance => Count > 0 ? M2 / Count : double.NaN;

    /// <summary>Sample (Bessel-corrected) variance M2/(n-1); NaN below two values.</summary>
    [JsonIgnore]
    public double SampleVariance => Count > 1 ? M2 / (Count - 1) : double.NaN;

    /// <summary>Population standard deviation.</summary>
    [JsonIgnore]
    public double PopulationStd => Math.Sqrt(PopulationVariance);

    /// <summary>Sample standard deviation.</summary>
    [JsonIgnore]
    public double SampleStd => Math.Sqrt(SampleVariance);

    /// <summary>
    /// Chan's merge: n = na + nb, δ = mean_b − mean_a, mean = mean_a + δ·nb/n, M2 = M2_a + M2_b + δ²·na·nb/n.
    /// Commutative exactly and associative up to rounding.
    /// </summary>
    public static Moments Merge(Moments a, Moments b)
    {
        if (b.Count == 0)
        {
            return a with { Missing = a.Missing + b.Missing };
        }

        if (a.Count == 0)
        {
            return b with { Missing = a.Missing + b.Missing };
        }

        double na = a.Count;
        double nb = b.Count;
        var n = na + nb;
        var delta = b.Mean - a.Mean;

        // Weighted form of the mean update: symmetric in a and b, so merge(a, b) == merge(b, a) bit for bit.
        var mean = ((na * a.Mean) + (nb * b.Mean)) / n;
        if (double.IsInfinity(mean))
        {
            mean = a.Mean + (delta * (nb / n));
        }

        var m2 = a.M2 + b.M2 + (delta * delta * (na * nb / n));
        return new Moments(a.Count + b.Count, a.Missing + b.Missing, mean, m2, Math.Min(a.Min, b.Min), Math.Max(a.Max, b.Max));
    }
}
