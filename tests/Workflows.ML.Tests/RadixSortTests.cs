using Workflows.ML.Statistics;
using Xunit;

namespace Workflows.ML.Tests;

public sealed class RadixSortTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(1024)]
    [InlineData(3000)]
    public void Sort_MixedSignsInfinitiesAndFloats_OrdersLikeArraySort(int length)
    {
        var values = TestData.Normal(seed: length, count: length, mean: 0, std: 1e3);
        values[0] = double.PositiveInfinity;
        values[1] = double.NegativeInfinity;
        values[2] = double.MaxValue;
        values[3] = -double.Epsilon;
        values[4] = 0;
        values[5] = (float)values[6];
        var expected = values.ToArray();
        Array.Sort(expected);

        RadixSort.Sort(values);

        Assert.Equal(expected, values);
    }
}
