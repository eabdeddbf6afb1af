using Workflows.ML.Canary;
using Xunit;

namespace Workflows.ML.Tests.Canary;

public sealed class MannWhitneyTests
{
    [Fact]
    public void Test_SmallSamplesWithoutTies_MatchesTheHandDerivationAndScipy()
    {
        // Pooled and sorted: 11y 12y 16x 17y 19x 20y 22x 24x 29x, so R1 = 3 + 5 + 7 + 8 + 9 = 32 and
        // U1 = 32 − 5·6/2 = 17, U2 = 5·4 − 17 = 3; μ = 10, σ = sqrt(5·4·10/12) = 4.0824829;
        // z = (17 − 10 − 0.5)/σ = 1.5921683, p = 2·(1 − Φ(z)) = 0.1113469.
        // scipy.stats.mannwhitneyu(x, y, method="asymptotic") gives statistic=17.0, pvalue=0.11134688653314041.
        double[] x = [19, 22, 16, 29, 24];
        double[] y = [20, 11, 17, 12];

        var result = MannWhitney.Test(x, y);

        Assert.Equal(17, result.U);
        Assert.Equal(1.5921683, result.Z, 6);
        Assert.Equal(0.11134688653314041, result.PValue, 12);
        Assert.Equal((5, 4), (result.CandidateCount, result.StableCount));

        // The 20 differences sorted: −4 −1 −1 2 2 4 4 5 5 [7 7] 8 9 10 11 12 12 13 17 18, so the median is 7
        // (numpy.median of numpy.subtract.outer(x, y) is 7.0).
        Assert.Equal(7, result.Shift);
    }

    [Fact]
    public void Test_Ties_MatchesScipy()
    {
        // scipy.stats.mannwhitneyu(x, y, method="asymptotic"): statistic=13.5, pvalue=0.03175895714806371;
        // numpy.median(numpy.subtract.outer(x, y)) = −2.0.
        double[] x = [1, 2, 2, 3, 3, 3, 4, 5];
        double[] y = [2, 3, 4, 4, 5, 5, 6, 7, 7];

        var result = MannWhitney.Test(x, y);

        Assert.Equal(13.5, result.U);
        Assert.Equal(0.03175895714806371, result.PValue, 12);
        Assert.True(result.Z < 0, "the candidate's values are smaller");
        Assert.Equal(-2, result.Shift);
    }

    [Fact]
    public void Test_TwentyLatenciesEach_MatchesScipy()
    {
        // scipy.stats.mannwhitneyu(candidate, stable, method="asymptotic"): statistic=337.5,
        // pvalue=0.00018555741457269333; numpy.median(numpy.subtract.outer(candidate, stable)) = 3.0.
        double[] candidate = [12, 15, 11, 18, 14, 13, 16, 17, 12, 19, 14, 15, 13, 20, 16, 11, 18, 14, 15, 17];
        double[] stable = [10, 12, 11, 13, 12, 10, 14, 11, 12, 13, 10, 12, 11, 15, 12, 13, 11, 10, 12, 14];

        var result = MannWhitney.Test(candidate, stable);

        Assert.Equal(337.5, result.U);
        Assert.Equal(0.00018555741457269333, result.PValue, 14);
        Assert.True(result.Z > 3);
        Assert.Equal(3, result.Shift);
    }

    [Fact]
    public void Test_SwappedSamples_SamePValueOppositeShift()
    {
        var a = TestData.Normal(seed: 1, count: 40, mean: 10, std: 2);
        var b = TestData.Normal(seed: 2, count: 35, mean: 11, std: 2);

        var ab = MannWhitney.Test(a, b);
        var ba = MannWhitney.Test(b, a);

        Assert.Equal(ab.PValue, ba.PValue, 15);
        Assert.Equal(ab.U, (40 * 35) - ba.U);
        Assert.Equal(-ab.Z, ba.Z, 15);
        Assert.Equal(-ab.Shift, ba.Shift, 12);
    }

    [Fact]
    public void Test_EverythingTied_IsNoEvidence()
    {
        var result = MannWhitney.Test([5, 5, 5], [5, 5]);

        Assert.Equal((1.0, 0.0, 0.0), (result.PValue, result.Z, result.Shift));
    }

    [Fact]
    public void Test_BadSamples_Throw()
    {
        Assert.Throws<ArgumentException>(() => MannWhitney.Test([], [1]));
        Assert.Throws<ArgumentException>(() => MannWhitney.Test([1, double.NaN], [1]));
        Assert.Throws<ArgumentException>(() => MannWhitney.Test([1], [double.PositiveInfinity]));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 7, 3)]
    [InlineData(3, 50, 61)]
    [InlineData(4, 64, 64)]
    [InlineData(5, 33, 1)]
    public void Shift_EqualsTheMedianOfAllPairwiseDifferences(int seed, int n1, int n2)
    {
        // Rounded values make ties among the differences, the case a bisection most easily gets wrong.
        var x = Array.ConvertAll(TestData.Normal(seed, n1, mean: 100, std: 15), v => Math.Round(v, 1));
        var y = Array.ConvertAll(TestData.Normal(seed + 100, n2, mean: 90, std: 30), v => Math.Round(v));
        var differences = x.SelectMany(a => y.Select(b => a - b)).Order().ToArray();
        var middle = differences.Length / 2;
        var expected = differences.Length % 2 == 1 ? differences[middle] : (differences[middle - 1] / 2) + (differences[middle] / 2);

        Assert.Equal(expected, HodgesLehmann.Shift(x, y));
    }

    [Fact]
    public void Shift_LargeSamples_IsExactAndFast()
    {
        // 40,000 × 30,000 = 1.2e9 differences: far too many to sort, a few dozen linear passes here.
        var x = TestData.Normal(seed: 7, count: 40_000, mean: 0, std: 1);
        var y = TestData.Normal(seed: 8, count: 30_000, mean: -0.5, std: 1);

        var shift = HodgesLehmann.Shift(x, y);

        // The shift of two normals of equal spread is the difference of their means, 0.5, within sampling error.
        Assert.InRange(shift, 0.47, 0.53);
    }
}
