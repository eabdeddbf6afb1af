using Workflows.ML.Data;
using Workflows.ML.Generation;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;
using Workflows.Testing;
using Xunit;

namespace Workflows.ML.Tests;

public sealed class StatisticsReportTests
{
    private static readonly DatasetReader Reader = new(TestStorage.Local);

    [Fact]
    public async Task Build_GeneratedDatasetInTwoGroups_MatchesExactStatistics()
    {
        using var temp = new TempFolder();
        var generator = await TestDatasets.WriteParquetFolderAsync(temp.Path, new ClassificationSpec(Features: 5, Informative: 2, Redundant: 1, Seed: 11), chunks: 4, rowsPerChunk: 1_000);
        var dataset = await Reader.DescribeAsync(new DatasetSpec(temp.Path, "label"), CancellationToken.None);
        var columns = DatasetReader.ResolveColumns(dataset, ["f1", "f3"]);
        var groups = new[] { dataset.Chunks.Take(3).ToArray(), dataset.Chunks.Skip(3).ToArray() };

        var first = FirstPassPartial.Create(["f1", "f3"], withSketches: true);
        foreach (var group in groups)
        {
            first.Merge(await ChunkStatistics.ComputeMomentsAsync(
                new FirstPassRequest { Group = new ChunkGroup(Reader, dataset, group, columns), Kernel = SimdStatisticsKernel.Instance, SketchCapacity = QuantileSketch.DefaultCapacity },
                CancellationToken.None));
        }

        var histograms = HistogramPartial.Create(first.Moments, bins: 10);
        foreach (var group in groups.Reverse())
        {
            histograms.Merge(await ChunkStatistics.ComputeHistogramsAsync(
                new SecondPassRequest { Group = new ChunkGroup(Reader, dataset, group, columns), Kernel = SimdStatisticsKernel.Instance, FirstPassMoments = first.Moments, Bins = 10 },
                CancellationToken.None));
        }

        var report = StatisticsReport.Build(temp.Path, first, histograms, [0.5]);

        var chunks = Enumerable.Range(0, 4).Select(c => generator.GenerateChunk(c, 1_000)).ToArray();
        var f3 = chunks.SelectMany(c => c.Features[3]).Select(v => (double)v).ToArray();
        var mean = f3.Average();
        var variance = f3.Sum(v => (v - mean) * (v - mean)) / f3.Length;
        var summary = report.Columns[1];
        Assert.Equal(4_000, report.Rows);
        Assert.Equal("f3", summary.Name);
        Assert.Equal(4_000, summary.Count);
        TestData.AssertRelative(mean, summary.Mean, 1e-12, "mean");
        TestData.AssertRelative(variance, summary.PopulationVariance, 1e-12, "variance");
        TestData.AssertRelative(variance * 4_000 / 3_999, summary.SampleVariance!.Value, 1e-12, "sample variance");
        Assert.Equal(f3.Min(), summary.Min);
        Assert.Equal(f3.Max(), summary.Max);
        Assert.Equal(4_000, summary.Histogram!.Counts.Sum());
        Assert.Equal(f3.Count(v => v < summary.Min + ((summary.Max - summary.Min) / 10)), summary.Histogram.Counts[0]);
        var ones = chunks.Sum(c => c.Labels.Count(l => l == 1));
        Assert.Equal(new Dictionary<string, long> { ["0"] = 4_000 - ones, ["1"] = ones }, report.LabelDistribution);
    }

    [Fact]
    public void Build_AllNaNColumn_ThrowsNamingIt()
    {
        var first = FirstPassPartial.Create(["ok", "empty"], withSketches: false);
        first.Add(new DecodedChunk(0, 2, [new ChunkColumn("ok", [1f, 2f]), new ChunkColumn("empty", [float.NaN, float.NaN])], null), SimdStatisticsKernel.Instance);

        var error = Assert.Throws<InvalidOperationException>(() => StatisticsReport.Build("d", first, null, []));

        Assert.Equal("column 'empty' has no values: all 2 rows are NaN or null.", error.Message);
    }

    [Fact]
    public void Add_LabelsOfEveryKind_CountedByInvariantText()
    {
        var first = FirstPassPartial.Create(["a"], withSketches: false);
        double[] labels = [0, 1, 1, 255, 256, -1, 2.5, double.NaN, 1];
        first.Add(new DecodedChunk(0, labels.Length, [new ChunkColumn("a", new float[labels.Length])], new ChunkColumn("y", ColumnType.Float64, labels)), ScalarStatisticsKernel.Instance);

        Assert.Equal(
            new Dictionary<string, long> { ["0"] = 1, ["1"] = 3, ["255"] = 1, ["256"] = 1, ["-1"] = 1, ["2.5"] = 1, ["missing"] = 1 },
            first.Labels);
    }

    [Fact]
    public void ToArtifactJson_RoundTrip_KeepsMeansAndStds()
    {
        var first = FirstPassPartial.Create(["a"], withSketches: true);
        first.Add(new DecodedChunk(0, 3, [new ChunkColumn("a", [1f, 2f, 6f])], new ChunkColumn("y", ColumnType.Int32, [0, 1, 1])), ScalarStatisticsKernel.Instance);
        var report = StatisticsReport.Build("d", first, null, [0.5]);

        var copy = StatisticsReport.FromArtifactJson(report.ToArtifactJson());

        Assert.Equal(3.0, copy.Columns[0].Mean);
        Assert.Equal(report.Columns[0].PopulationStd, copy.Columns[0].PopulationStd);
        Assert.Equal(2.0, copy.Columns[0].Quantiles![0].Value);
        Assert.Equal(2, copy.LabelDistribution["1"]);
    }
}
