using Workflows.ML.Kernels;
using Workflows.ML.Numerics;
using Workflows.ML.Statistics;
using Xunit;

namespace Workflows.ML.Tests;

public sealed class KernelTests
{
    public static TheoryData<int> Lengths => [0, 1, 7, 2048, 2049, 10_001];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SimdComputeMoments_Doubles_MatchesScalarReference(int length)
    {
        var values = TestData.Normal(seed: length, count: length, mean: 50, std: 10, nanFraction: 0.01);

        AssertSame(ScalarStatisticsKernel.Instance.ComputeMoments(values), SimdStatisticsKernel.Instance.ComputeMoments(values));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SimdComputeMoments_Floats_MatchesScalarReference(int length)
    {
        var values = TestData.ToFloat(TestData.Normal(seed: length, count: length, mean: -3, std: 2, nanFraction: 0.01));

        AssertSame(ScalarStatisticsKernel.Instance.ComputeMoments(values), SimdStatisticsKernel.Instance.ComputeMoments(values));
    }

    [Theory]
    [InlineData(7, -3.0, 2.0)]
    [InlineData(2048, -3.0, 2.0)]
    [InlineData(10_001, 0.0, 1.0)]
    [InlineData(10_001, 1e4, 1e-2)]
    [InlineData(4_099, 5e3, 1e3)]
    public void SimdComputeMoments_FloatsWithoutNaN_MatchesScalarReference(int length, double mean, double std)
    {
        var values = TestData.ToFloat(TestData.Normal(seed: length, count: length, mean: mean, std: std));
        values[length / 2] = (float)(mean + (50 * std));

        AssertSame(ScalarStatisticsKernel.Instance.ComputeMoments(values), SimdStatisticsKernel.Instance.ComputeMoments(values));
    }

    [Theory]
    [InlineData(13)]
    [InlineData(5_120)]
    public void SimdAddToHistogram_FloatsWithoutNaN_MatchesScalarReferenceExactly(int bins)
    {
        var floats = TestData.ToFloat(TestData.Normal(seed: bins, count: 10_001, mean: 0, std: 1));
        var doubles = Array.ConvertAll(floats, v => (double)v);
        var expected = new long[bins];
        var actual = new long[bins];
        var actualDouble = new long[bins];

        ScalarStatisticsKernel.Instance.AddToHistogram(floats, -2.5, 2.5, expected);
        SimdStatisticsKernel.Instance.AddToHistogram(floats, -2.5, 2.5, actual);
        SimdStatisticsKernel.Instance.AddToHistogram(doubles, -2.5, 2.5, actualDouble);

        Assert.Equal(expected, actual);
        Assert.Equal(expected, actualDouble);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SimdAddToHistogram_MatchesScalarReferenceExactly(int length)
    {
        var values = TestData.Normal(seed: length + 1, count: length, mean: 0, std: 1, nanFraction: 0.02);
        var floats = TestData.ToFloat(values);
        var expected = new long[13];
        var actual = new long[13];
        var expectedFloat = new long[13];
        var actualFloat = new long[13];

        ScalarStatisticsKernel.Instance.AddToHistogram(values, -2.5, 2.5, expected);
        SimdStatisticsKernel.Instance.AddToHistogram(values, -2.5, 2.5, actual);
        ScalarStatisticsKernel.Instance.AddToHistogram(floats, -2.5, 2.5, expectedFloat);
        SimdStatisticsKernel.Instance.AddToHistogram(floats, -2.5, 2.5, actualFloat);

        Assert.Equal(expected, actual);
        Assert.Equal(expectedFloat, actualFloat);
        Assert.Equal(values.Count(v => !double.IsNaN(v)), actual.Sum());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(2047)]
    [InlineData(9_999)]
    public void SimdComputeMoments_FloatsWithOneNaN_MatchesScalarReference(int position)
    {
        var values = TestData.ToFloat(TestData.Normal(seed: position, count: 10_000, mean: 7, std: 3));
        values[position] = float.NaN;

        var actual = SimdStatisticsKernel.Instance.ComputeMoments(values);

        AssertSame(ScalarStatisticsKernel.Instance.ComputeMoments(values), actual);
        Assert.Equal(1, actual.Missing);
    }

    [Theory]
    [InlineData(5_120, 0.0)]
    [InlineData(5_120, 0.02)]
    [InlineData(1_025, 0.01)]
    public void SimdAddToHistogram_FineBinsTwiceIntoTheSameCounts_MatchesScalarReferenceExactly(int bins, double nanFraction)
    {
        // Two calls add up (the kernel's per-thread row must be empty again after each), values beyond the range clamp.
        var first = TestData.ToFloat(TestData.Normal(seed: bins, count: 10_001, mean: 0, std: 1.5, nanFraction: nanFraction));
        var second = TestData.ToFloat(TestData.Normal(seed: bins + 1, count: 4_097, mean: 0.5, std: 1, nanFraction: nanFraction));
        var expected = new long[bins];
        var actual = new long[bins];

        foreach (var values in new[] { first, second })
        {
            ScalarStatisticsKernel.Instance.AddToHistogram(values, -2.5, 2.5, expected);
            SimdStatisticsKernel.Instance.AddToHistogram(values, -2.5, 2.5, actual);
        }

        Assert.Equal(expected, actual);
        Assert.Equal(first.Concat(second).Count(v => !float.IsNaN(v)), actual.Sum());
    }

    [Theory]
    [InlineData(20, 0.0)]
    [InlineData(5_120, 0.0)]
    [InlineData(5_120, 0.02)]
    [InlineData(1_025, 0.01)]
    public void AddToHistogram_Int32Counts_MatchTheInt64ReferenceExactly_EveryKernel(int bins, double nanFraction)
    {
        // The 32-bit overloads add to the counts already there (two calls), floats and doubles alike.
        var first = TestData.Normal(seed: bins, count: 10_001, mean: 0, std: 1.5, nanFraction: nanFraction);
        var second = TestData.Normal(seed: bins + 1, count: 4_097, mean: 0.5, std: 1, nanFraction: nanFraction);
        var expected = new long[bins];
        foreach (var values in new[] { first, second })
        {
            ScalarStatisticsKernel.Instance.AddToHistogram(TestData.ToFloat(values), -2.5, 2.5, expected);
        }

        foreach (var kernel in new IStatisticsKernel[] { ScalarStatisticsKernel.Instance, SimdStatisticsKernel.Instance })
        {
            var fromFloats = new int[bins];
            var fromDoubles = new int[bins];
            foreach (var values in new[] { first, second })
            {
                kernel.AddToHistogram(TestData.ToFloat(values), -2.5, 2.5, fromFloats);
                kernel.AddToHistogram(Array.ConvertAll(TestData.ToFloat(values), v => (double)v), -2.5, 2.5, fromDoubles);
            }

            Assert.Equal(expected, fromFloats.Select(c => (long)c));
            Assert.Equal(expected, fromDoubles.Select(c => (long)c));
        }
    }

    [Fact]
    public void SimdAddToHistogram_FineBinsOneOutlierStretchesTheRange_MatchesScalarReferenceExactly()
    {
        // Nearly every value in bin 0: the same count incremented back to back.
        var values = TestData.ToFloat(TestData.Normal(seed: 4, count: 10_000, mean: 0, std: 1));
        values[5_000] = 1e7f;
        var expected = new long[5_120];
        var actual = new long[5_120];

        ScalarStatisticsKernel.Instance.AddToHistogram(values, values.Min(), 1e7, expected);
        SimdStatisticsKernel.Instance.AddToHistogram(values, values.Min(), 1e7, actual);

        Assert.Equal(expected, actual);
        Assert.True(actual[0] > 9_900);
    }

    [Fact]
    public void AddToHistogram_EdgesAndConstantRange_LandInEndBins()
    {
        var counts = new long[4];
        var constant = new long[3];

        SimdStatisticsKernel.Instance.AddToHistogram([0.0, 1.0, 2.0, 3.999, 4.0, -1.0, 9.0], 0, 4, counts);
        ScalarStatisticsKernel.Instance.AddToHistogram([5.0, 5.0], 5, 5, constant);

        Assert.Equal([2L, 1, 1, 3], counts);
        Assert.Equal([2L, 0, 0], constant);
    }

    internal static void AssertSame(Moments expected, Moments actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Missing, actual.Missing);
        Assert.Equal(expected.Min, actual.Min);
        Assert.Equal(expected.Max, actual.Max);
        if (expected.Count > 0)
        {
            TestData.AssertRelative(expected.Mean, actual.Mean, 1e-12, "mean");
        }

        if (expected.Count > 1)
        {
            TestData.AssertRelative(expected.M2, actual.M2, 1e-11, "M2");
        }
    }
}
