using FsCheck;
using FsCheck.Xunit;
using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;
using Xunit;

namespace Workflows.ML.Tests;

public sealed class HistogramQuantilesTests
{
    private static readonly double[] Qs = [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999];

    public static TheoryData<string> Shapes => ["normal", "uniform", "ties", "outlier", "constant"];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Estimate_DataOfEveryShape_WithinReportedRankAndValueBound(string shape)
    {
        var values = Shape(shape, seed: 4, count: 50_000);
        var partial = Count(values, bins: 20, subdivisions: 256);

        var (rankOk, valueOk, worst) = Check(values, partial);

        Assert.True(rankOk, $"{shape}: a quantile fell outside its reported rank bound");
        Assert.True(valueOk, $"{shape}: a quantile is further than one fine bin from the exact one");
        if (shape is "normal" or "uniform")
        {
            // Smooth data: the bin a quantile falls in holds well under 0.1 % of the rows.
            Assert.InRange(worst, 1, values.Length / 1_000);
        }
    }

    [Fact]
    public void Estimate_EndsAndEmptyHistogram_MinMaxExactlyAndNaN()
    {
        long[] counts = [2, 0, 3, 1];

        Assert.Equal((-1.0, 0L), HistogramQuantiles.Estimate(counts, -1, 7, 0));
        Assert.Equal((7.0, 0L), HistogramQuantiles.Estimate(counts, -1, 7, 1));
        Assert.True(double.IsNaN(HistogramQuantiles.Estimate(new long[4], 0, 1, 0.5).Value));
        Assert.Throws<ArgumentOutOfRangeException>(() => HistogramQuantiles.Estimate(counts, 0, 1, 1.5));
    }

    [Theory]
    [InlineData(20, 4096, 256)]
    [InlineData(0, 4096, 4096)]
    [InlineData(5_000, 4096, 1)]
    [InlineData(3, 10, 4)]
    public void SubdivisionsFor_BinsAndQuantileBins_SmallestPowerOfTwoReachingThem(int bins, int quantileBins, int expected)
    {
        Assert.Equal(expected, HistogramQuantiles.SubdivisionsFor(bins, quantileBins));
    }

    [Property(MaxTest = 40)]
    public bool ReportedCounts_FineBinsFolded_ExactlyTheDirectCount(int seed, PositiveInt bins, PositiveInt log2Subdivisions)
    {
        var reportedBins = Math.Min(bins.Get, 64);
        var subdivisions = 1 << Math.Min(log2Subdivisions.Get, 10);
        var values = TestData.Normal(seed, count: 3_000, mean: 1e3, std: 7, nanFraction: 0.01);
        var range = ScalarStatisticsKernel.Instance.ComputeMoments(values);
        var direct = new long[reportedBins];
        ScalarStatisticsKernel.Instance.AddToHistogram(values, range.Min, range.Max, direct);

        var fine = Count(values, reportedBins, subdivisions);

        return fine.ReportedCounts(0).SequenceEqual(direct) && fine.Bins == reportedBins;
    }

    [Property(MaxTest = 30)]
    public bool Estimate_PiecesMergedInAnyOrder_WithinReportedBound(int seed, PositiveInt pieces)
    {
        var values = Shape((seed & 1) == 0 ? "normal" : "ties", seed, count: 5_000);
        var range = ScalarStatisticsKernel.Instance.ComputeMoments(values);
        var partials = new List<HistogramPartial>();
        foreach (var (start, length) in TestData.RandomPieces(seed, values.Length, Math.Min(pieces.Get, 50)))
        {
            var partial = HistogramPartial.Create([range], bins: 10, subdivisions: 64);
            partial.Add(new DecodedChunk(0, length, [new ChunkColumn("x", ColumnType.Float64, values[start..(start + length)])], null), SimdStatisticsKernel.Instance);
            partials.Add(partial);
        }

        TestData.Shuffle(partials, seed);
        var merged = HistogramPartial.Create([range], bins: 10, subdivisions: 64);
        foreach (var partial in partials)
        {
            merged.Merge(partial);
        }

        var (rankOk, valueOk, _) = Check(values, merged);
        return rankOk && valueOk;
    }

    private static HistogramPartial Count(double[] values, int bins, int subdivisions)
    {
        var range = ScalarStatisticsKernel.Instance.ComputeMoments(values);
        var partial = HistogramPartial.Create([range], bins, subdivisions);
        partial.Add(new DecodedChunk(0, values.Length, [new ChunkColumn("x", ColumnType.Float64, values)], null), SimdStatisticsKernel.Instance);
        return partial;
    }

    /// <summary>The documented guarantees: #{x &lt; v} &lt; q·n + E, #{x ≤ v} ≥ q·n − E, |v − exact| ≤ one fine bin.</summary>
    private static (bool RankOk, bool ValueOk, long WorstRankError) Check(double[] values, HistogramPartial partial)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        var n = sorted.Length;
        var width = (partial.Max[0] - partial.Min[0]) / partial.Counts[0].Length;
        bool rankOk = true, valueOk = true;
        long worst = 0;
        foreach (var q in Qs)
        {
            var (v, error) = HistogramQuantiles.Estimate(partial.Counts[0], partial.Min[0], partial.Max[0], q);
            var exact = sorted[Math.Max(0, (int)Math.Ceiling(q * n) - 1)];
            rankOk &= QuantileSketchTests.LowerBound(sorted, v) < (q * n) + error && QuantileSketchTests.UpperBound(sorted, v) >= (q * n) - error;
            valueOk &= Math.Abs(v - exact) <= (width * (1 + 1e-9)) + (Math.Abs(exact) * 1e-15);
            worst = Math.Max(worst, error);
        }

        return (rankOk, valueOk, worst);
    }

    private static double[] Shape(string shape, int seed, int count)
    {
        var values = TestData.Normal(seed, count, mean: 5, std: 2, nanFraction: 0.01);
        var random = new Random(seed);
        for (var i = 0; i < values.Length; i++)
        {
            if (double.IsNaN(values[i]))
            {
                continue;
            }

            values[i] = shape switch
            {
                "uniform" => -3 + (6 * random.NextDouble()),
                "ties" => Math.Round(values[i]),
                "outlier" => i == 17 ? 1e7 : values[i],
                "constant" => 2.5,
                _ => values[i],
            };
        }

        return values;
    }
}
