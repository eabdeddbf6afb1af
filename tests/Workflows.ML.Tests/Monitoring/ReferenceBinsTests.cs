using Workflows.ML.Monitoring;
using Xunit;

namespace Workflows.ML.Tests.Monitoring;

public sealed class ReferenceBinsTests
{
    [Theory]
    [InlineData(-5.0, 0)]
    [InlineData(0.999, 0)]
    [InlineData(1.0, 1)]
    [InlineData(1.5, 1)]
    [InlineData(2.0, 2)]
    [InlineData(3.0, 3)]
    [InlineData(1e300, 3)]
    [InlineData(double.NegativeInfinity, 0)]
    [InlineData(double.PositiveInfinity, 3)]
    public void BinOf_ValuesOutsideTheEdges_GoToTheOuterBins(double value, int bin)
    {
        Assert.Equal(bin, ReferenceBins.BinOf([1.0, 2.0, 3.0], value));
    }

    [Fact]
    public void Count_NaN_IsCountedApart()
    {
        var counts = new long[3];

        var missing = ReferenceBins.Count([0.0, 1.0], [-1f, float.NaN, 0f, 0.5f, 1f, 7f, float.NaN], counts);

        Assert.Equal(2, missing);
        Assert.Equal([1L, 2, 2], counts);
    }

    [Fact]
    public void QuantileEdges_RepeatedQuantiles_AreOneEdge()
    {
        // A sparse feature: 70 % zeros, 30 % ones. Quantiles 0.1 .. 0.7 are 0, 0.8 and 0.9 are 1.
        var edges = ReferenceBins.QuantileEdges(10, q => q <= 0.7 ? 0 : 1);

        Assert.Equal([0.0, 1.0], edges);
    }

    [Fact]
    public void QuantileEdges_FewerThanTwoBins_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ReferenceBins.QuantileEdges(1, q => q));
    }
}
