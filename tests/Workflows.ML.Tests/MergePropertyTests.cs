using FsCheck;
using FsCheck.Xunit;
using Workflows.ML.Kernels;
using Workflows.ML.Numerics;
using Workflows.ML.Statistics;

namespace Workflows.ML.Tests;

/// <summary>Merging partial statistics in any order and any grouping gives the same result.</summary>
public sealed class MergePropertyTests
{
    [Property(MaxTest = 60)]
    public bool MomentsMerge_AnyPiecesAnyOrder_SameAsWholeToRounding(int seed, PositiveInt pieces, NormalFloat offset)
    {
        var center = Math.Clamp(offset.Get, -1e6, 1e6);
        var values = TestData.Normal(seed, count: 3_000, mean: center, std: 3, nanFraction: 0.01);
        var whole = ScalarStatisticsKernel.Instance.ComputeMoments(values);
        var parts = new List<Moments>();
        foreach (var (start, length) in TestData.RandomPieces(seed, values.Length, Math.Min(pieces.Get, 200)))
        {
            parts.Add(SimdStatisticsKernel.Instance.ComputeMoments(values.AsSpan(start, length)));
        }

        TestData.Shuffle(parts, seed + 1);
        var sequential = Moments.Empty;
        foreach (var part in parts)
        {
            sequential = Moments.Merge(sequential, part);
        }

        var tree = MergeTree(parts, 0, parts.Count);
        return Same(whole, sequential) && Same(whole, tree) && Moments.Merge(parts[0], tree) == Moments.Merge(tree, parts[0]);
    }

    [Property(MaxTest = 40)]
    public bool HistogramMerge_AnyPiecesAnyOrder_ExactlyTheWholeCounts(int seed, PositiveInt pieces)
    {
        var values = TestData.Normal(seed, count: 2_000, mean: 0, std: 1, nanFraction: 0.02);
        var range = ScalarStatisticsKernel.Instance.ComputeMoments(values);
        var whole = new long[16];
        ScalarStatisticsKernel.Instance.AddToHistogram(values, range.Min, range.Max, whole);
        var partials = new List<HistogramPartial>();
        foreach (var (start, length) in TestData.RandomPieces(seed, values.Length, Math.Min(pieces.Get, 100)))
        {
            var partial = HistogramPartial.Create([range], bins: 16);
            partial.Add(new ML.Data.DecodedChunk(0, length, [new ML.Data.ChunkColumn("x", ML.Data.ColumnType.Float64, values[start..(start + length)])], null), SimdStatisticsKernel.Instance);
            partials.Add(partial);
        }

        TestData.Shuffle(partials, seed);
        var merged = HistogramPartial.Create([range], bins: 16);
        foreach (var partial in partials)
        {
            merged.Merge(partial);
        }

        return merged.Counts[0].SequenceEqual(whole);
    }

    [Property(MaxTest = 25)]
    public bool SketchMerge_AnyPiecesAnyOrder_QuantilesWithinStatedBound(int seed, PositiveInt pieces)
    {
        var values = TestData.Normal(seed, count: 20_000, mean: 5, std: 2);
        var sketches = new List<QuantileSketch>();
        foreach (var (start, length) in TestData.RandomPieces(seed, values.Length, Math.Min(pieces.Get, 50)))
        {
            var sketch = new QuantileSketch(capacity: 64);
            sketch.Add(values.AsSpan(start, length));
            sketches.Add(sketch);
        }

        TestData.Shuffle(sketches, seed);
        var merged = new QuantileSketch(capacity: 64);
        foreach (var sketch in sketches)
        {
            merged.Merge(sketch);
        }

        return merged.Count == values.Length && QuantileSketchTests.WithinBound(values, merged);
    }

    private static Moments MergeTree(List<Moments> parts, int start, int end) =>
        end - start == 1 ? parts[start] : Moments.Merge(MergeTree(parts, start, (start + end) / 2), MergeTree(parts, (start + end) / 2, end));

    private static bool Same(Moments expected, Moments actual) =>
        expected.Count == actual.Count
        && expected.Missing == actual.Missing
        && expected.Min == actual.Min
        && expected.Max == actual.Max
        && Close(expected.Mean, actual.Mean, 1e-12)
        && Close(expected.M2, actual.M2, 1e-9);

    private static bool Close(double expected, double actual, double relative) =>
        Math.Abs(expected - actual) <= relative * Math.Max(1, Math.Abs(expected));
}
