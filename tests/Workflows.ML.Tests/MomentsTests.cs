using Workflows.ML.Kernels;
using Workflows.ML.Numerics;
using Workflows.ML.Statistics;
using Xunit;

namespace Workflows.ML.Tests;

public sealed class MomentsTests
{
    [Fact]
    public void Merge_DataOffsetBy1e9_MatchesTwoPassReferenceWhereNaiveFormulaFails()
    {
        // std 10: the mean itself is stored as a double near 1e9, so it is rounded to ~6e-8, and each merge's
        // delta carries that rounding; at unit spread that alone is ~1e-9 of the variance after dozens of merges.
        var values = TestData.Normal(seed: 1, count: 20_000, mean: 1e9, std: 10);
        var (referenceMean, referenceVariance) = TwoPass(values);

        var merged = Moments.Empty;
        foreach (var (start, length) in TestData.RandomPieces(seed: 2, values.Length, pieces: 17))
        {
            merged = Moments.Merge(merged, SimdStatisticsKernel.Instance.ComputeMoments(values.AsSpan(start, length)));
        }

        double sum = 0, sumOfSquares = 0;
        foreach (var value in values)
        {
            sum += value;
            sumOfSquares += value * value;
        }

        var naiveVariance = (sumOfSquares - (sum * sum / values.Length)) / values.Length;
        TestData.AssertRelative(referenceMean, merged.Mean, 1e-9, "mean");
        TestData.AssertRelative(referenceVariance, merged.PopulationVariance, 1e-9, "variance");
        Assert.True(Math.Abs(naiveVariance - referenceVariance) / referenceVariance > 1e-3, $"the naive formula should fail here, gave {naiveVariance:R} for {referenceVariance:R}");
    }

    [Fact]
    public void Merge_WithEmptySide_KeepsOtherAndAddsMissing()
    {
        var some = new Moments(3, 1, 2.0, 2.0, 1.0, 3.0);

        Assert.Equal(some with { Missing = 5 }, Moments.Merge(some, Moments.Empty with { Missing = 4 }));
        Assert.Equal(some with { Missing = 5 }, Moments.Merge(Moments.Empty with { Missing = 4 }, some));
    }

    [Fact]
    public void SampleVariance_KnownValues_UsesBesselCorrection()
    {
        var moments = ScalarStatisticsKernel.Instance.ComputeMoments([2.0, 4, 4, 4, 5, 5, 7, 9]);

        Assert.Equal(5.0, moments.Mean, 12);
        Assert.Equal(4.0, moments.PopulationVariance, 12);
        Assert.Equal(32.0 / 7, moments.SampleVariance, 12);
        Assert.Equal(2.0, moments.PopulationStd, 12);
    }

    private static (double Mean, double Variance) TwoPass(double[] values)
    {
        double sum = 0;
        foreach (var value in values)
        {
            sum += value;
        }

        var mean = sum / values.Length;
        double squares = 0;
        foreach (var value in values)
        {
            squares += (value - mean) * (value - mean);
        }

        return (mean, squares / values.Length);
    }
}
