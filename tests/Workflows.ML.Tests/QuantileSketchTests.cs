using System.Text.Json;
using Workflows.ML.Statistics;
using Xunit;

namespace Workflows.ML.Tests;

public sealed class QuantileSketchTests
{
    private static readonly double[] Qs = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1];

    [Fact]
    public void Quantiles_ManyChunksMerged_WithinStatedBoundOfExact()
    {
        var values = TestData.Normal(seed: 9, count: 100_000, mean: 0, std: 1);
        var merged = new QuantileSketch(capacity: 256);
        for (var chunk = 0; chunk < 10; chunk++)
        {
            var sketch = new QuantileSketch(capacity: 256);
            sketch.Add(TestData.ToFloat(values.AsSpan(chunk * 10_000, 10_000).ToArray()));
            merged.Merge(sketch);
        }

        var levels = merged.Levels.Count;

        Assert.True(WithinBound(Array.ConvertAll(TestData.ToFloat(values), v => (double)v), merged), "a quantile fell outside the stated rank bound");
        Assert.InRange(merged.MaxRankError, 1, (long)values.Length * levels / 256);
        Assert.True(merged.MaxRankError < values.Length / 20, $"bound {merged.MaxRankError} is too loose to be useful");
    }

    [Fact]
    public void CountBelow_MergedChunks_WithinStatedBoundOfExact()
    {
        var values = TestData.ToFloat(TestData.Normal(seed: 12, count: 50_000, mean: 3, std: 2));
        var merged = new QuantileSketch(capacity: 128);
        foreach (var (start, length) in TestData.RandomPieces(seed: 1, count: values.Length, pieces: 7))
        {
            var sketch = new QuantileSketch(capacity: 128);
            sketch.Add(values.AsSpan(start, length));
            merged.Merge(sketch);
        }

        Assert.True(merged.MaxRankError > 0);
        foreach (var threshold in new[] { -10.0, 0, 1, 2.5, 3, 4.75, 6, 20 })
        {
            var exact = values.LongCount(v => v < threshold);
            Assert.InRange(merged.CountBelow(threshold), exact - merged.MaxRankError, exact + merged.MaxRankError);
        }

        Assert.Equal(0, merged.CountBelow(double.NegativeInfinity));
        Assert.Equal(values.Length, merged.CountBelow(double.PositiveInfinity));
    }

    [Fact]
    public void Quantiles_FewValues_AreExact()
    {
        var sketch = new QuantileSketch(capacity: 16);
        sketch.Add([5.0, 1, 3, double.NaN, 2, 4]);

        Assert.Equal(0, sketch.MaxRankError);
        Assert.Equal(5, sketch.Count);
        Assert.Equal(1.0, sketch.Quantile(0));
        Assert.Equal(3.0, sketch.Quantile(0.5));
        Assert.Equal(5.0, sketch.Quantile(1));
    }

    [Fact]
    public void Serialize_RoundTrip_KeepsQuantilesAndBound()
    {
        var sketch = new QuantileSketch(capacity: 32);
        sketch.Add(TestData.Normal(seed: 3, count: 5_000, mean: 1, std: 1));

        var copy = JsonSerializer.Deserialize<QuantileSketch>(JsonSerializer.Serialize(sketch, JsonSerializerOptions.Web), JsonSerializerOptions.Web)!;

        Assert.Equal(sketch.Count, copy.Count);
        Assert.Equal(sketch.MaxRankError, copy.MaxRankError);
        Assert.All(Qs, q => Assert.Equal(sketch.Quantile(q), copy.Quantile(q)));
    }

    [Fact]
    public void Quantiles_EmptySketch_IsNaN()
    {
        Assert.True(double.IsNaN(new QuantileSketch().Quantile(0.5)));
    }

    /// <summary>The documented guarantee: #{x &lt; v} &lt; q·n + E and #{x ≤ v} ≥ q·n − E.</summary>
    internal static bool WithinBound(double[] values, QuantileSketch sketch)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        var n = sorted.Length;
        foreach (var q in Qs)
        {
            var v = sketch.Quantile(q);
            var below = LowerBound(sorted, v);
            var atMost = UpperBound(sorted, v);
            if (!(below < (q * n) + sketch.MaxRankError && atMost >= (q * n) - sketch.MaxRankError))
            {
                return false;
            }
        }

        return true;
    }

    internal static int LowerBound(double[] sorted, double v)
    {
        var index = Array.BinarySearch(sorted, v);
        if (index < 0)
        {
            return ~index;
        }

        while (index > 0 && sorted[index - 1] == v)
        {
            index--;
        }

        return index;
    }

    internal static int UpperBound(double[] sorted, double v)
    {
        var index = LowerBound(sorted, v);
        while (index < sorted.Length && sorted[index] == v)
        {
            index++;
        }

        return index;
    }
}
