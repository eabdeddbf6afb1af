using System.Text.Json;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Generation;
using Workflows.ML.Kernels;
using Workflows.ML.Numerics;
using Workflows.ML.Statistics;
using Workflows.ML.Training;
using Workflows.Testing;
using Xunit;

namespace Workflows.ML.Tests;

/// <summary>
/// Histograms counted in the first pass over the Parquet footers' ranges: used only where the range was exact, and
/// then identical, count for count, to the second pass's; every other column falls back to the second pass.
/// </summary>
public sealed class OnePassStatisticsTests
{
    private const int Bins = 8;
    private const int Subdivisions = 64;
    private static readonly DatasetReader Reader = new(TestStorage.Local);
    private static readonly IStatisticsKernel Kernel = SimdStatisticsKernel.Instance;
    private static readonly IReadOnlyList<double> Quantiles = [0, 0.01, 0.25, 0.5, 0.9, 1];

    [Fact]
    public async Task FirstPass_ExactFooterRanges_NoSecondPassAndTheSameReportAsTwoPasses()
    {
        using var temp = new TempFolder();
        var (dataset, ranges) = await WriteAsync(temp.Path, seed: 21);
        var footer = ranges.Merge(null, dataset.Columns);

        var twoPass = await TwoPassAsync(dataset, dataset.Columns);
        var (onePass, secondPassColumns) = await OnePassAsync(dataset, dataset.Columns, footer);

        Assert.Empty(secondPassColumns);
        Assert.All(footer, r => Assert.NotNull(r));
        AssertSameHistograms(twoPass.Histograms, onePass.Histograms);
        Assert.Equal(twoPass.First.Moments, onePass.First.Moments);
        Assert.Equal(Report(dataset, twoPass), Report(dataset, onePass));
    }

    [Fact]
    public async Task FirstPass_RangesThatAreNotTheValuesRange_ThoseColumnsTakeTheSecondPassAndTheResultIsExact()
    {
        using var temp = new TempFolder();
        var (dataset, ranges) = await WriteAsync(temp.Path, seed: 22);
        var footer = ranges.Merge(null, dataset.Columns).ToArray();

        // Column 1 claimed wider than its values, column 3 narrower (values outside land in the edge bins), column 4
        // without a range, column 2 with its lower bound off by the smallest step: none of them may be used.
        footer[1] = footer[1]! with { Min = footer[1]!.Min - 1 };
        footer[3] = footer[3]! with { Max = (footer[3]!.Min + footer[3]!.Max) / 2 };
        footer[4] = null;
        footer[2] = footer[2]! with { Min = Math.BitIncrement(footer[2]!.Min) };

        var twoPass = await TwoPassAsync(dataset, dataset.Columns);
        var (onePass, secondPassColumns) = await OnePassAsync(dataset, dataset.Columns, footer);

        Assert.Equal([1, 2, 3, 4], secondPassColumns);
        AssertSameHistograms(twoPass.Histograms, onePass.Histograms);
        Assert.Equal(Report(dataset, twoPass), Report(dataset, onePass));
    }

    [Fact]
    public async Task FirstPass_ChunkSubset_TheSubsetsFooterRangesAreExactAndTheWholeDatasetsAreNot()
    {
        using var temp = new TempFolder();
        var (dataset, ranges) = await WriteAsync(temp.Path, seed: 23);
        var subset = dataset with { Chunks = [dataset.Chunks[1], dataset.Chunks[3]] };

        var (ofSubset, subsetColumns) = await OnePassAsync(subset, dataset.Columns, ranges.Merge([1, 3], dataset.Columns));
        var (_, wholeColumns) = await OnePassAsync(subset, dataset.Columns, ranges.Merge(null, dataset.Columns));
        var twoPass = await TwoPassAsync(subset, dataset.Columns);

        Assert.Empty(subsetColumns);
        Assert.NotEmpty(wholeColumns);
        AssertSameHistograms(twoPass.Histograms, ofSubset.Histograms);
    }

    [Fact]
    public async Task FirstPass_WithSketchesAndKeepingChunks_CountsTheSameHistogramsAndMoments()
    {
        using var temp = new TempFolder();
        var (dataset, ranges) = await WriteAsync(temp.Path, seed: 24);
        var footer = ranges.Merge(null, dataset.Columns);
        var cache = new DecodedChunkCache(1 << 24);

        var sketched = FirstPass(dataset, dataset.Chunks, dataset.Columns) with { SketchCapacity = 64 };
        var counted = sketched with { HistogramRanges = footer, Bins = Bins, Subdivisions = Subdivisions };
        var plain = await ChunkStatistics.ComputeMomentsAsync(counted, CancellationToken.None);
        var kept = await ChunkStatistics.ComputeMomentsAsync(counted with { KeepForSecondPass = new ChunkCacheScope(cache, "instance-1") }, CancellationToken.None);
        var none = await ChunkStatistics.ComputeMomentsAsync(sketched, CancellationToken.None);

        Assert.Equal(4, cache.Count);
        Assert.Equal(none.Moments, plain.Moments);
        Assert.Equal(none.Moments, kept.Moments);
        Assert.Null(none.Histograms);
        AssertSameHistograms(plain.Histograms!, kept.Histograms!);
        Assert.Equal(SketchQuantiles(none), SketchQuantiles(plain));
        Assert.All(plain.Histograms!.Counts, counts => Assert.Equal(4_000, counts.Sum()));
        Assert.Equal(4, plain.Histograms!.Chunks);
    }

    [Theory]
    [InlineData(1.0, 2.0, 1.0, 2.0, 5, true)]
    [InlineData(1.0, 2.0, 1.0, 2.5, 5, false)]
    [InlineData(0.5, 2.0, 1.0, 2.0, 5, false)]
    [InlineData(-0.0, 3.0, 0.0, 3.0, 5, true)]
    [InlineData(0.0, 0.0, 0.0, 0.0, 0, false)]
    public void IsExact_CountedRangeAgainstTheValuesRange_OnlyWhenBothBoundsAreEqual(double countedMin, double countedMax, double min, double max, long count, bool expected)
    {
        var moments = new Moments(count, 0, (min + max) / 2, 1, min, max);

        Assert.Equal(expected, FirstPassHistograms.IsExact(new ColumnRange(countedMin, countedMax), moments));
        Assert.False(FirstPassHistograms.IsExact(null, moments));
    }

    [Fact]
    public void HistogramPartial_ColumnNotCounted_TakesNoValuesMergesAndRoundTrips()
    {
        var kernel = ScalarStatisticsKernel.Instance;
        var partial = HistogramPartial.Create([new ColumnRange(0, 4), null], bins: 4, subdivisions: 2);
        var other = HistogramPartial.Create([new ColumnRange(0, 4), null], bins: 4, subdivisions: 2);
        var chunk = new DecodedChunk(0, 3, [new ChunkColumn("a", [0.5f, 3.9f, 2f]), new ChunkColumn("b", [100f, -5f, 7f])], null);

        partial.Add(chunk, kernel);
        other.Add(chunk, kernel);
        var json = JsonSerializer.Serialize(partial, JsonSerializerOptions.Web);
        var read = JsonSerializer.Deserialize<HistogramPartial>(json, JsonSerializerOptions.Web)!;
        read.Merge(other);

        Assert.True(read.IsCounted(0));
        Assert.False(read.IsCounted(1));
        Assert.Equal(4, read.Bins);
        Assert.Equal([0L, 2, 0, 0, 2, 0, 0, 2], read.Counts[0]);
        Assert.Empty(read.Counts[1]);
        Assert.Equal([2L, 0, 2, 2], read.ReportedCounts(0));
        Assert.Empty(read.ReportedCounts(1));
        Assert.Equal(2, read.Chunks);
        Assert.Throws<ArgumentException>(() => read.Merge(HistogramPartial.Create([new ColumnRange(0, 4), new ColumnRange(0, 1)], bins: 4, subdivisions: 2)));
        Assert.Equal(0, HistogramPartial.Create([null, null], bins: 4).Bins);

        // A report needs every column counted: a first-pass partial alone is combined with the second pass first.
        var first = FirstPassPartial.Create(["a", "b"], withSketches: false);
        first.Add(chunk, kernel);
        Assert.Contains("column 'b'", Assert.Throws<ArgumentException>(() => StatisticsReport.Build("d", first, read, [0.5])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FirstPassPartial_WithHistograms_RoundTripsMergesAndReadsOldJsonWithoutThem()
    {
        var kernel = ScalarStatisticsKernel.Instance;
        var chunk = new DecodedChunk(0, 2, [new ChunkColumn("a", [1f, 2f]), new ChunkColumn("b", [3f, 4f])], null);
        var partial = FirstPassPartial.Create(["a", "b"], false, QuantileSketch.DefaultCapacity, HistogramPartial.Create([null, new ColumnRange(3, 4)], bins: 2));
        partial.Add(chunk, kernel);

        var read = JsonSerializer.Deserialize<FirstPassPartial>(JsonSerializer.Serialize(partial, JsonSerializerOptions.Web), JsonSerializerOptions.Web)!;
        read.Merge(partial);
        var old = FirstPassPartial.Create(["a", "b"], false);
        old.Add(chunk, kernel);
        var oldJson = JsonSerializer.Serialize(old, JsonSerializerOptions.Web);
        var fromOld = JsonSerializer.Deserialize<FirstPassPartial>(oldJson.Replace(",\"histograms\":null", string.Empty, StringComparison.Ordinal), JsonSerializerOptions.Web)!;

        Assert.Equal([1L, 1], partial.Histograms!.Counts[1]);
        Assert.Equal([2L, 2], read.Histograms!.Counts[1]);
        Assert.Empty(read.Histograms.Counts[0]);
        Assert.Equal(2, read.Histograms.Chunks);
        Assert.DoesNotContain("histograms", oldJson.Replace(",\"histograms\":null", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Null(fromOld.Histograms);
        Assert.Equal([0, 1], FirstPassHistograms.SecondPassColumns(fromOld));
        Assert.Equal([0], FirstPassHistograms.SecondPassColumns(partial));
        Assert.Throws<ArgumentException>(() => fromOld.Merge(partial));
    }

    private static async Task<(DatasetDescription Dataset, FooterRanges Ranges)> WriteAsync(string folder, int seed)
    {
        await TestDatasets.WriteParquetFolderAsync(folder, new ClassificationSpec(Features: 5, Informative: 2, Redundant: 1, Seed: seed), chunks: 4, rowsPerChunk: 1_000);
        return await Reader.DescribeWithFooterRangesAsync(new DatasetSpec(folder, "label"), CancellationToken.None);
    }

    /// <summary>As the orchestration groups them: two chunks per activity, partials merged in group order.</summary>
    private static List<ChunkLocation[]> Groups(DatasetDescription dataset) => dataset.Chunks.Chunk(2).ToList();

    /// <summary>The two-pass path: moments, then histograms of every column over the merged range.</summary>
    private static async Task<(FirstPassPartial First, HistogramPartial Histograms)> TwoPassAsync(DatasetDescription dataset, IReadOnlyList<DatasetColumn> columns)
    {
        FirstPassPartial? first = null;
        foreach (var group in Groups(dataset))
        {
            var partial = await ChunkStatistics.ComputeMomentsAsync(FirstPass(dataset, group, columns), CancellationToken.None);
            if (first is null)
            {
                first = partial;
            }
            else
            {
                first.Merge(partial);
            }
        }

        HistogramPartial? histograms = null;
        foreach (var group in Groups(dataset))
        {
            var partial = await ChunkStatistics.ComputeHistogramsAsync(SecondPass(dataset, group, columns, first!.Moments), CancellationToken.None);
            if (histograms is null)
            {
                histograms = partial;
            }
            else
            {
                histograms.Merge(partial);
            }
        }

        return (first!, histograms!);
    }

    /// <summary>The one-pass path as the orchestrator runs it: histograms over the given ranges, then the second pass over the columns that need it.</summary>
    private static async Task<((FirstPassPartial First, HistogramPartial Histograms) Result, IReadOnlyList<int> SecondPassColumns)> OnePassAsync(
        DatasetDescription dataset, IReadOnlyList<DatasetColumn> columns, IReadOnlyList<ColumnRange?> ranges)
    {
        FirstPassPartial? first = null;
        foreach (var group in Groups(dataset))
        {
            var partial = await ChunkStatistics.ComputeMomentsAsync(FirstPass(dataset, group, columns) with { HistogramRanges = ranges, Bins = Bins, Subdivisions = Subdivisions }, CancellationToken.None);
            if (first is null)
            {
                first = partial;
            }
            else
            {
                first.Merge(partial);
            }
        }

        var secondPassColumns = FirstPassHistograms.SecondPassColumns(first!);
        HistogramPartial? second = null;
        if (secondPassColumns.Count > 0)
        {
            var subset = secondPassColumns.Select(c => columns[c]).ToList();
            var subsetRanges = secondPassColumns.Select(c => first!.Moments[c]).ToList();
            foreach (var group in Groups(dataset))
            {
                var partial = await ChunkStatistics.ComputeHistogramsAsync(SecondPass(dataset, group, subset, subsetRanges), CancellationToken.None);
                if (second is null)
                {
                    second = partial;
                }
                else
                {
                    second.Merge(partial);
                }
            }
        }

        return ((first!, FirstPassHistograms.Combine(first!, secondPassColumns, second, Bins, Subdivisions)), secondPassColumns);
    }

    /// <summary>The first pass over <paramref name="chunks"/>: moments and labels only.</summary>
    private static FirstPassRequest FirstPass(DatasetDescription dataset, IReadOnlyList<ChunkLocation> chunks, IReadOnlyList<DatasetColumn> columns) =>
        new() { Group = new ChunkGroup(Reader, dataset, chunks, columns), Kernel = Kernel };

    /// <summary>The second pass over <paramref name="chunks"/> and the ranges of <paramref name="firstPass"/>, every chunk decoded.</summary>
    private static SecondPassRequest SecondPass(DatasetDescription dataset, IReadOnlyList<ChunkLocation> chunks, IReadOnlyList<DatasetColumn> columns, IReadOnlyList<Moments> firstPass) =>
        new() { Group = new ChunkGroup(Reader, dataset, chunks, columns), Kernel = Kernel, FirstPassMoments = firstPass, Bins = Bins, Subdivisions = Subdivisions };

    private static double[][] SketchQuantiles(FirstPassPartial partial) =>
        partial.Sketches!.Select(sketch =>
        {
            var values = new double[3];
            sketch.Quantiles([0.1, 0.5, 0.9], values);
            return values;
        }).ToArray();

    private static string Report(DatasetDescription dataset, (FirstPassPartial First, HistogramPartial Histograms) result) =>
        JsonSerializer.Serialize(StatisticsReport.Build(dataset.Root, result.First, result.Histograms, Quantiles));

    private static void AssertSameHistograms(HistogramPartial expected, HistogramPartial actual)
    {
        Assert.Equal(expected.Counts.Length, actual.Counts.Length);
        Assert.Equal(expected.Subdivisions, actual.Subdivisions);
        Assert.Equal(expected.Min, actual.Min);
        Assert.Equal(expected.Max, actual.Max);
        for (var column = 0; column < expected.Counts.Length; column++)
        {
            Assert.Equal(expected.Counts[column], actual.Counts[column]);
        }
    }
}
