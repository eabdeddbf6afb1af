using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.DurableTask;
using Workflows.Functions.Datasets;
using Workflows.Functions.Statistics;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Generation;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;
using Workflows.ML.Training;
using Workflows.Testing;
using Xunit;

namespace Workflows.Functions.Tests;

public sealed class DatasetOrchestrationTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "workflows-functions-" + Guid.NewGuid().ToString("N"));

    public DatasetOrchestrationTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task GenerateThenChunkedStatistics_SmallDataset_ReportsExactMomentsAndWritesArtifact()
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(dataRoot: TestStorage.Root));
        var destination = Path.Combine(_folder, "data");
        var generate = new GenerateDatasetInput(Rows: 2_500, Features: 6, Informative: 3, ChunkRows: 500, Seed: 5, Destination: destination, Redundant: 1);

        var generated = await harness.RunAsync(GenerateDatasetOrchestrator.Name, generate);
        var stats = await harness.RunAsync(ChunkedStatisticsOrchestrator.Name, new ChunkedStatisticsInput(destination, "label", HistogramBins: 8, Quantiles: [0.5], ChunksPerActivity: 2));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, generated.RuntimeStatus);
        Assert.Equal(new GenerateDatasetOutput(destination, 2_500, 5, 6, generated.ReadOutputAs<GenerateDatasetOutput>()!.Bytes), generated.ReadOutputAs<GenerateDatasetOutput>());
        Assert.Equal(OrchestrationRuntimeStatus.Completed, stats.RuntimeStatus);
        var output = stats.ReadOutputAs<ChunkedStatisticsOutput>()!;
        var generator = new ClassificationGenerator(generate.ToSpec());
        var f2 = Enumerable.Range(0, 5).SelectMany(c => generator.GenerateChunk(c, 500).Features[2]).Select(v => (double)v).ToArray();
        var column = output.Statistics.Columns[2];
        Assert.Equal(2_500, output.Statistics.Rows);
        Assert.Equal(6, output.Statistics.Columns.Count);
        Assert.Equal(f2.Average(), column.Mean, 1e-12);
        Assert.Equal(f2.Min(), column.Min);
        Assert.Equal(2_500, column.Histogram!.Counts.Sum());
        Assert.Equal(2_500, output.Statistics.LabelDistribution.Values.Sum());
        Assert.Equal(Path.Combine(destination, StatisticsReport.ArtifactFileName), output.ArtifactPath);
        var artifact = StatisticsReport.FromArtifactJson(await File.ReadAllBytesAsync(output.ArtifactPath));
        Assert.Equal(column.PopulationStd, artifact.Columns[2].PopulationStd);
        Assert.Contains("\"chunksDone\":5", stats.SerializedCustomStatus, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChunkedStatistics_MissingDataset_FailsSayingItDoesNotExist()
    {
        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(Path.Combine(_folder, "nothing")));

        AssertFailed(result, "does not exist");
    }

    [Fact]
    public async Task ChunkedStatistics_EmptyFolder_FailsSayingItIsEmpty()
    {
        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(_folder));

        AssertFailed(result, "is empty");
    }

    [Fact]
    public async Task ChunkedStatistics_CorruptRowGroup_FailsNamingRowGroupAndFile()
    {
        await WriteGeneratedAsync(chunks: 3);
        var corrupt = Path.Combine(_folder, GenerateDatasetChunkActivity.FileName(1));
        var bytes = await File.ReadAllBytesAsync(corrupt);
        Array.Fill(bytes, (byte)0xA5, 4, bytes.Length / 2);
        await File.WriteAllBytesAsync(corrupt, bytes);

        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(_folder, "label"));

        // The page walk of the checksum check meets the damaged header of the first column's first page.
        AssertFailed(result, $"chunk 1: column 'f0' of row group 0 of '{TestStorage.Root.Relative(corrupt)}' has an unreadable page header");
        AssertFailed(result, "the file is corrupt");
    }

    [Fact]
    public async Task ChunkedStatistics_PageChecksumMismatch_FailsNamingFileRowGroupColumnAndPage()
    {
        // A value of a file with page checksums moved by one unit in the last place: within its footer range, so
        // only the checksum tells. The intact dataset's run completes.
        var files = TestData.WriteChecksummedDataset(_folder, chunks: 3, rows: 400);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await RunStatisticsAsync(new ChunkedStatisticsInput(_folder, "label"))).RuntimeStatus);
        await TestData.FlipLowestBitOfValueAsync(files[1], TestData.XOf(chunk: 1, row: 200, label: 1));

        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(_folder, "label"));

        AssertFailed(result, $"chunk 1: column 'x' of row group 0 of '{TestStorage.Root.Relative(files[1])}' has a page checksum mismatch: page 0 (header at byte 4)");
        AssertFailed(result, "the file is corrupt");
    }

    [Fact]
    public async Task ChunkedStatistics_FloatLabelColumn_ReportsItsValues()
    {
        await TestData.WriteFloatLabelDatasetAsync(_folder, chunks: 2, rows: 30, row => row % 3 == 0 ? 0.5f : row % 2);

        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(_folder, "label", HistogramBins: 4, Quantiles: []));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var distribution = result.ReadOutputAs<ChunkedStatisticsOutput>()!.Statistics.LabelDistribution;
        Assert.Equal(new Dictionary<string, long> { ["0"] = 20, ["1"] = 20, ["0.5"] = 20 }, distribution.ToDictionary(p => p.Key, p => p.Value));
    }

    [Theory]
    [InlineData(ParquetCompression.Snappy, 0xFF, 64, 0.1)]
    [InlineData(ParquetCompression.Snappy, 0xFF, 64, 0.45)]
    [InlineData(ParquetCompression.Snappy, 0xFF, 64, 0.8)]
    [InlineData(ParquetCompression.Snappy, -1, 16_384, 0.1)]
    [InlineData(ParquetCompression.Snappy, -1, 16_384, 0.5)]
    [InlineData(ParquetCompression.ZstdFastest, 0xFF, 64, 0.3)]
    [InlineData(ParquetCompression.ZstdFastest, -1, 16_384, 0.3)]
    public async Task ChunkedStatistics_DamagedDataPage_FailsNamingFileRowGroupAndColumn(ParquetCompression compression, int fill, int length, double at)
    {
        // fill -1: seeded random bytes. The damage lies inside the first column chunk's data pages, never the footer.
        var generator = new ClassificationGenerator(new ClassificationSpec(Features: 4, Informative: 2, Redundant: 0, Seed: 8));
        var path = Path.Combine(_folder, GenerateDatasetChunkActivity.FileName(0));
        var chunk = generator.GenerateChunk(0, 20_000);
        await File.WriteAllBytesAsync(path, await ParquetChunkWriter.EncodeAsync(
            generator.ColumnNames, chunk.Features, ClassificationGenerator.LabelColumnName, chunk.Labels, compression, CancellationToken.None));
        long start;
        long size;
        long dataEnd = 0;
        await using (var stream = File.OpenRead(path))
        await using (var reader = await ParquetReader.CreateAsync(stream))
        {
            var columns = reader.Metadata!.RowGroups[0].Columns;
            start = columns[0].MetaData!.DataPageOffset;
            size = columns[0].MetaData!.TotalCompressedSize;
            foreach (var column in columns)
            {
                dataEnd = Math.Max(dataEnd, column.MetaData!.DataPageOffset + column.MetaData.TotalCompressedSize);
            }
        }

        var bytes = await File.ReadAllBytesAsync(path);
        var offset = Math.Min(start + (long)(size * at), dataEnd - length);
        var damage = new byte[length];
        if (fill < 0)
        {
            new Random(length + (int)(at * 100)).NextBytes(damage);
        }
        else
        {
            Array.Fill(damage, (byte)fill);
        }

        damage.CopyTo(bytes, offset);
        await File.WriteAllBytesAsync(path, bytes);

        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(_folder, "label"));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        var message = result.FailureDetails!.ErrorMessage;
        var file = TestStorage.Root.Relative(path);
        Assert.True(
            message.Contains($"of row group 0 of '{file}'", StringComparison.Ordinal) && message.Contains("column '", StringComparison.Ordinal)
            || message.Contains($"chunk 0 (row group 0 of '{file}') is corrupt", StringComparison.Ordinal),
            message);
    }

    [Fact]
    public async Task ChunkedStatistics_StringColumn_FailsSayingNotNumeric()
    {
        var name = new DataField<string>("name");
        var x = new DataField<double>("x");
        await using (var stream = File.Create(Path.Combine(_folder, "people.parquet")))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(name, x), stream))
        using (var group = writer.CreateRowGroup())
        {
            await group.WriteAsync(name, ["a", "b"], null);
            await group.WriteAsync<double>(x, new double[] { 1, 2 }.AsMemory(), null, null, CancellationToken.None);
        }

        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(_folder, Columns: ["x", "name"]));

        AssertFailed(result, "column 'name' of dataset");
        AssertFailed(result, "is not numeric");
    }

    [Fact]
    public async Task ChunkedStatistics_AllNaNColumn_FailsNamingColumn()
    {
        var csv = new StringBuilder("a,b\n");
        for (var i = 0; i < 30; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},\n");
        }

        var path = Path.Combine(_folder, "holes.csv");
        await File.WriteAllTextAsync(path, csv.ToString());

        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(path, CsvChunkRows: 10));

        AssertFailed(result, "column 'b' has no values: all 30 rows are NaN or null.");
    }

    [Fact]
    public async Task ChunkedStatistics_CsvInChunksOfTenRows_ReportsEveryRowAndWritesArtifactNextToFile()
    {
        var csv = new StringBuilder("x,y,label\n");
        for (var i = 1; i <= 25; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},{1e9 + (i % 5)},{i % 3}\n");
        }

        var path = Path.Combine(_folder, "small.csv");
        await File.WriteAllTextAsync(path, csv.ToString());

        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(path, "label", HistogramBins: 5, Quantiles: [0.5], CsvChunkRows: 10));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var output = result.ReadOutputAs<ChunkedStatisticsOutput>()!;
        Assert.Equal(3, output.Statistics.Chunks);
        Assert.Equal(13.0, output.Statistics.Columns[0].Mean, 12);
        Assert.Equal(52.0, output.Statistics.Columns[0].PopulationVariance, 9);
        Assert.Equal(1e9 + 2, output.Statistics.Columns[1].Mean, 6);
        var x = output.Statistics.Columns[0];
        Assert.InRange(x.Quantiles![0].Value, 13.0 - x.QuantileMaxValueError!.Value, 13.0 + x.QuantileMaxValueError.Value);
        Assert.Equal(1, x.QuantileMaxRankError);
        Assert.Equal([5L, 5, 5, 5, 5], output.Statistics.Columns[0].Histogram!.Counts);
        Assert.Equal(new Dictionary<string, long> { ["0"] = 8, ["1"] = 9, ["2"] = 8 }, output.Statistics.LabelDistribution);
        Assert.Equal(["x", "y"], output.SecondPassColumns);
        Assert.Contains("\"passes\":2,", result.SerializedCustomStatus, StringComparison.Ordinal);
        Assert.Equal(path + ".statistics.json", output.ArtifactPath);
        Assert.True(File.Exists(output.ArtifactPath));
    }

    [Theory]
    [InlineData(QuantileMethod.Histogram, 0)]
    [InlineData(QuantileMethod.Sketch, 0)]
    [InlineData(QuantileMethod.Histogram, 4)]
    [InlineData(QuantileMethod.Sketch, 4)]
    public async Task ChunkedStatistics_EitherQuantileMethod_QuantilesWithinReportedBoundAndHistogramOnlyWhenAsked(QuantileMethod method, int bins)
    {
        var path = Path.Combine(_folder, "ramp.csv");
        await File.WriteAllTextAsync(path, "x\n" + string.Join('\n', Enumerable.Range(1, 400).Select(i => (i * 0.5).ToString(CultureInfo.InvariantCulture))) + "\n");

        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(path, HistogramBins: bins, Quantiles: [0.25, 0.5], CsvChunkRows: 50, SketchCapacity: 16, QuantileMethod: method));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var x = result.ReadOutputAs<ChunkedStatisticsOutput>()!.Statistics.Columns[0];
        var rankError = x.QuantileMaxRankError!.Value;
        Assert.Equal([0.25, 0.5], x.Quantiles!.Select(q => q.Q));
        Assert.InRange(x.Quantiles![0].Value, (100 - rankError) * 0.5, (100 + rankError) * 0.5);
        Assert.InRange(x.Quantiles[1].Value, (200 - rankError) * 0.5, (200 + rankError) * 0.5);
        Assert.Equal(method == QuantileMethod.Histogram, x.QuantileMaxValueError is not null);
        Assert.Equal(bins == 0 ? null : new long[] { 100, 100, 100, 100 }, x.Histogram?.Counts);
    }

    [Theory]
    [InlineData("\"sketch\"", QuantileMethod.Sketch)]
    [InlineData("\"Histogram\"", QuantileMethod.Histogram)]
    [InlineData("null", null)]
    public void ChunkedStatisticsInput_QuantileMethodAsJsonText_ReadsIgnoringCase(string json, QuantileMethod? expected)
    {
        var input = System.Text.Json.JsonSerializer.Deserialize<ChunkedStatisticsInput>(
            "{\"dataset\":\"d\"" + (expected is null ? string.Empty : ",\"quantileMethod\":" + json) + "}", System.Text.Json.JsonSerializerOptions.Web)!;

        Assert.Equal(expected ?? QuantileMethod.Histogram, input.QuantileMethod);
        Assert.Equal(4096, input.QuantileBins);
    }

    [Fact]
    public async Task GenerateDataset_InformativeAboveFeatures_FailsWithReason()
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(dataRoot: TestStorage.Root));

        var result = await harness.RunAsync(GenerateDatasetOrchestrator.Name, new GenerateDatasetInput(100, Features: 3, Informative: 5, ChunkRows: 10, Seed: 1, Destination: _folder));

        AssertFailed(result, "informative + redundant <= features");
    }

    [Fact]
    public async Task GenerateDataset_IntoFolderWithFiles_FailsBeforeWritingUnlessOverwriteReplacesTheFolder()
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(dataRoot: TestStorage.Root));
        var destination = Path.Combine(_folder, "data");
        var first = new GenerateDatasetInput(Rows: 200, Features: 3, Informative: 2, ChunkRows: 10, Seed: 1, Destination: destination);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await harness.RunAsync(GenerateDatasetOrchestrator.Name, first)).RuntimeStatus);
        await File.WriteAllTextAsync(Path.Combine(destination, "notes.txt"), "x");
        Directory.CreateDirectory(Path.Combine(destination, "keep"));
        await File.WriteAllTextAsync(Path.Combine(destination, "keep", "inner.txt"), "x");
        var second = first with { Rows = 50 };

        var refused = await harness.RunAsync(GenerateDatasetOrchestrator.Name, second);
        Assert.Equal(21, Directory.GetFiles(destination).Length);
        var replaced = await harness.RunAsync(GenerateDatasetOrchestrator.Name, second with { Overwrite = true });

        AssertFailed(refused, $"destination '{destination}' is not empty (21 files)");
        AssertFailed(refused, "overwrite: true");
        Assert.Equal(OrchestrationRuntimeStatus.Completed, replaced.RuntimeStatus);
        Assert.Equal(
            Enumerable.Range(0, 5).Select(GenerateDatasetChunkActivity.FileName),
            Directory.GetFiles(destination).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(File.Exists(Path.Combine(destination, "keep", "inner.txt")));
        var stats = await RunStatisticsAsync(new ChunkedStatisticsInput(destination, "label", HistogramBins: 0, Quantiles: []));
        Assert.Equal(50, stats.ReadOutputAs<ChunkedStatisticsOutput>()!.Statistics.Rows);
    }

    [Fact]
    public async Task GenerateDataset_InformativeMissing_FailsSayingItIsRequired()
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(dataRoot: TestStorage.Root));
        var input = System.Text.Json.JsonSerializer.Deserialize<GenerateDatasetInput>(
            "{\"rows\":100,\"features\":3,\"chunkRows\":10,\"seed\":1,\"destination\":\"datasets/x\"}", System.Text.Json.JsonSerializerOptions.Web)!;

        var result = await harness.RunAsync(GenerateDatasetOrchestrator.Name, input);

        AssertFailed(result, "informative is required");
    }

    [Fact]
    public async Task ChunkedStatistics_WithChunkCache_DecodesEachChunkOnceAndReportsTheSame()
    {
        // CSV: no footer ranges, so the histograms take the second pass, which the cache serves.
        var files = await WriteGeneratedCsvAsync(chunks: 5);
        var input = new ChunkedStatisticsInput(_folder, "label", HistogramBins: 4, Quantiles: [0.1, 0.5, 0.9], ChunksPerActivity: 2);
        var cachedStorage = new CountingDatasetStorage();
        var cache = new DecodedChunkCache(1 << 24);
        OrchestrationMetadata cached;
        await using (var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(cachedStorage, SimdStatisticsKernel.Instance, chunkCache: cache, dataRoot: TestStorage.Root)))
        {
            cached = await harness.RunAsync(ChunkedStatisticsOrchestrator.Name, input);
        }

        var uncachedStorage = new CountingDatasetStorage();
        OrchestrationMetadata uncached;
        await using (var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(uncachedStorage, SimdStatisticsKernel.Instance, chunkCache: new DecodedChunkCache(0), dataRoot: TestStorage.Root)))
        {
            uncached = await harness.RunAsync(ChunkedStatisticsOrchestrator.Name, input);
        }

        Assert.Equal(OrchestrationRuntimeStatus.Completed, cached.RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, uncached.RuntimeStatus);
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(uncached.ReadOutputAs<ChunkedStatisticsOutput>()!.Statistics),
            System.Text.Json.JsonSerializer.Serialize(cached.ReadOutputAs<ChunkedStatisticsOutput>()!.Statistics));

        // Describe + first pass; the second pass took every chunk from the cache, which it left empty.
        Assert.Equal(["f0", "f1", "f2", "f3"], cached.ReadOutputAs<ChunkedStatisticsOutput>()!.SecondPassColumns);
        Assert.All(files, file => Assert.Equal(2, cachedStorage.Opened(file)));
        Assert.All(files, file => Assert.Equal(3, uncachedStorage.Opened(file)));
        Assert.Equal(5, cache.Hits);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task ChunkedStatistics_NoSecondPass_KeepsNothingInTheCache()
    {
        await WriteGeneratedAsync(chunks: 3);
        var cache = new DecodedChunkCache(1 << 24);
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(kernel: SimdStatisticsKernel.Instance, chunkCache: cache, dataRoot: TestStorage.Root));

        var result = await harness.RunAsync(ChunkedStatisticsOrchestrator.Name, new ChunkedStatisticsInput(_folder, "label", HistogramBins: 0, Quantiles: []));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task ChunkedStatistics_SomeChunks_DescribesOnlyThoseAndWritesTheirOwnArtifact()
    {
        // Chunks of 10 rows: x = 1..40, so chunks 1 and 3 hold x = 11..20 and 31..40 (mean 25.5, 20 rows).
        var csv = new StringBuilder("x,label\n");
        for (var i = 1; i <= 40; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},{i % 2}\n");
        }

        var path = Path.Combine(_folder, "subset.csv");
        await File.WriteAllTextAsync(path, csv.ToString());

        var whole = await RunStatisticsAsync(new ChunkedStatisticsInput(path, "label", HistogramBins: 0, Quantiles: [], CsvChunkRows: 10));
        var some = await RunStatisticsAsync(new ChunkedStatisticsInput(path, "label", HistogramBins: 0, Quantiles: [], CsvChunkRows: 10, Chunks: [3, 1]));

        var wholeOutput = whole.ReadOutputAs<ChunkedStatisticsOutput>()!;
        var output = some.ReadOutputAs<ChunkedStatisticsOutput>()!;
        Assert.Equal(40, wholeOutput.Statistics.Rows);
        Assert.Null(wholeOutput.Statistics.ChunkPositions);
        Assert.Equal(20, output.Statistics.Rows);
        Assert.Equal(2, output.Statistics.Chunks);
        Assert.Equal([1, 3], output.Statistics.ChunkPositions);
        Assert.Equal(25.5, output.Statistics.Columns[0].Mean, 12);
        Assert.Equal(11.0, output.Statistics.Columns[0].Min);
        Assert.Equal(40.0, output.Statistics.Columns[0].Max);
        Assert.NotEqual(wholeOutput.ArtifactPath, output.ArtifactPath);
        Assert.Equal(40, StatisticsReport.FromArtifactJson(await File.ReadAllBytesAsync(wholeOutput.ArtifactPath)).Rows);
        Assert.Equal(20, StatisticsReport.FromArtifactJson(await File.ReadAllBytesAsync(output.ArtifactPath)).Rows);
    }

    [Theory]
    [InlineData(new[] { 1, 4 }, "chunks 4 do not exist: dataset")]
    [InlineData(new[] { 1, 1 }, "none twice")]
    [InlineData(new int[0], "at least one chunk position")]
    public async Task ChunkedStatistics_BadChunkPositions_FailWithReason(int[] chunks, string reason)
    {
        var path = Path.Combine(_folder, "four.csv");
        await File.WriteAllTextAsync(path, "x\n" + string.Join('\n', Enumerable.Range(1, 40)) + "\n");

        var result = await RunStatisticsAsync(new ChunkedStatisticsInput(path, CsvChunkRows: 10, Chunks: chunks));

        AssertFailed(result, reason);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(new[] { 3, 1 })]
    public async Task ChunkedStatistics_ParquetWithFooterRanges_OnePassTheSameReportAsTwoPasses(int[]? chunks)
    {
        var files = await WriteGeneratedAsync(chunks: 5);
        var input = new ChunkedStatisticsInput(_folder, "label", HistogramBins: 4, Quantiles: [0.1, 0.5, 0.9], ChunksPerActivity: 2, Chunks: chunks);
        var storage = new CountingDatasetStorage();
        var cache = new DecodedChunkCache(1 << 24);
        var result = await RunStatisticsAsync(input, storage, cache);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var output = result.ReadOutputAs<ChunkedStatisticsOutput>()!;

        // One pass: the ranges of the selected chunks' footers were exact (a subset's values span less than the whole
        // dataset's, so the whole dataset's ranges would not have been), nothing was kept for a second pass.
        Assert.Empty(output.SecondPassColumns);
        Assert.Contains("\"passes\":1,", result.SerializedCustomStatus, StringComparison.Ordinal);
        var positions = chunks?.Order().ToArray() ?? [0, 1, 2, 3, 4];
        Assert.All(positions, p => Assert.Equal(2, storage.Opened(files[p])));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.Hits);

        // What the two passes compute over the same chunks, grouped and merged as the orchestration does.
        var expected = await TwoPassReportAsync(input, positions);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(expected), System.Text.Json.JsonSerializer.Serialize(output.Statistics));
    }

    [Fact]
    public async Task ChunkedStatistics_ColumnWithoutFooterRange_OnlyItTakesTheSecondPassFromTheCacheAndTheReportIsTheSame()
    {
        // Column b of chunk 1 starts with NaN: Parquet.Net then writes NaN bounds, so b has no footer range; a has one.
        var a = new DataField<float>("a");
        var b = new DataField<float>("b");
        var files = new List<string>();
        for (var c = 0; c < 3; c++)
        {
            var path = Path.Combine(_folder, GenerateDatasetChunkActivity.FileName(c));
            var random = new Random(c);
            var av = Enumerable.Range(0, 400).Select(_ => (float)random.NextDouble() * (c + 1)).ToArray();
            var bv = Enumerable.Range(0, 400).Select(_ => (float)(random.NextDouble() - 0.5) * 100).ToArray();
            bv[0] = c == 1 ? float.NaN : bv[0];
            await using (var stream = File.Create(path))
            await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(a, b), stream))
            using (var group = writer.CreateRowGroup())
            {
                await group.WriteAsync<float>(a, av.AsMemory(), null, null, CancellationToken.None);
                await group.WriteAsync<float>(b, bv.AsMemory(), null, null, CancellationToken.None);
            }

            files.Add(path);
        }

        var input = new ChunkedStatisticsInput(_folder, HistogramBins: 5, Quantiles: [0.25, 0.75], ChunksPerActivity: 2);
        var storage = new CountingDatasetStorage();
        var cache = new DecodedChunkCache(1 << 24);
        var result = await RunStatisticsAsync(input, storage, cache);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var output = result.ReadOutputAs<ChunkedStatisticsOutput>()!;
        Assert.Equal(["b"], output.SecondPassColumns);
        Assert.Contains("\"passes\":2,", result.SerializedCustomStatus, StringComparison.Ordinal);

        // The first pass kept both columns; the second pass found its chunks under them and took only b.
        Assert.All(files, file => Assert.Equal(2, storage.Opened(file)));
        Assert.Equal(3, cache.Hits);
        Assert.Equal(0, cache.Count);
        Assert.Equal(1, output.Statistics.Columns[1].Missing);
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(await TwoPassReportAsync(input, [0, 1, 2])),
            System.Text.Json.JsonSerializer.Serialize(output.Statistics));
    }

    [Fact]
    public void HistoryPayloads_WrittenBeforeFooterRanges_ReadWithoutThemSoTheRunKeepsTwoPasses()
    {
        // As the engine's converter reads results and inputs recorded by the previous version (no footer ranges, no
        // first-pass histograms): the orchestrator then has no ranges, keeps the chunks and runs the second pass over
        // every column, the same activities in the same order as then (the CSV tests run that path).
        const string Dataset = "{\"root\":\"d\",\"format\":0,\"columns\":[{\"name\":\"x\",\"type\":0}],\"labelColumn\":null,"
            + "\"chunks\":[{\"index\":0,\"file\":\"f\",\"rowGroup\":0,\"byteOffset\":0,\"rows\":10}],\"nonNumericColumns\":[]}";
        var converter = WebJsonDataConverter.Instance;

        var described = converter.Deserialize<DescribedDataset>("{\"dataset\":" + Dataset + ",\"columns\":[{\"name\":\"x\",\"type\":0}]}")!;
        var group = converter.Deserialize<ChunkGroupInput>("{\"dataset\":" + Dataset + ",\"columns\":[{\"name\":\"x\",\"type\":0}],\"sketchCapacity\":null,\"ranges\":null,\"bins\":0,\"subdivisions\":1,\"keepForSecondPass\":true}")!;
        var describeInput = converter.Deserialize<DescribeDatasetInput>("{\"dataset\":\"d\",\"labelColumn\":null,\"columns\":null,\"csvChunkRows\":10}")!;

        Assert.Null(described.FooterRanges);
        Assert.Equal([new DatasetColumn("x", ColumnType.Float32)], described.Columns);
        Assert.Null(group.HistogramRanges);
        Assert.Null(group.KeptColumns);
        Assert.True(group.KeepForSecondPass);
        Assert.Null(describeInput.Chunks);
    }

    /// <summary>The report of the two-pass path (moments, then every column's histogram over the merged range), computed directly.</summary>
    private static async Task<StatisticsReport> TwoPassReportAsync(ChunkedStatisticsInput input, int[] positions)
    {
        var reader = new DatasetReader(TestStorage.Local);
        var described = await reader.DescribeAsync(new DatasetSpec(input.Dataset, input.LabelColumn), CancellationToken.None);
        var dataset = described with { Chunks = positions.Select(p => described.Chunks[p]).ToList() };
        var groups = dataset.Chunks.Chunk(input.ChunksPerActivity).ToList();
        var kernel = SimdStatisticsKernel.Instance;
        var subdivisions = HistogramQuantiles.SubdivisionsFor(input.HistogramBins, input.QuantileBins);
        FirstPassPartial? first = null;
        foreach (var group in groups)
        {
            var partial = await ChunkStatistics.ComputeMomentsAsync(
                new FirstPassRequest { Group = new ChunkGroup(reader, dataset, group, dataset.Columns), Kernel = kernel }, CancellationToken.None);
            first = first is null ? partial : Merged(first, partial);
        }

        HistogramPartial? histograms = null;
        foreach (var group in groups)
        {
            var partial = await ChunkStatistics.ComputeHistogramsAsync(
                new SecondPassRequest
                {
                    Group = new ChunkGroup(reader, dataset, group, dataset.Columns),
                    Kernel = kernel,
                    FirstPassMoments = first!.Moments,
                    Bins = input.HistogramBins,
                    Subdivisions = subdivisions,
                },
                CancellationToken.None);
            if (histograms is null)
            {
                histograms = partial;
            }
            else
            {
                histograms.Merge(partial);
            }
        }

        return StatisticsReport.Build(input.Dataset, first!, histograms, input.QuantilesOrDefault, chunkPositions: input.Chunks?.Order().ToList());

        static FirstPassPartial Merged(FirstPassPartial into, FirstPassPartial partial)
        {
            into.Merge(partial);
            return into;
        }
    }

    private static async Task<OrchestrationMetadata> RunStatisticsAsync(ChunkedStatisticsInput input)
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(kernel: SimdStatisticsKernel.Instance, dataRoot: TestStorage.Root));
        return await harness.RunAsync(ChunkedStatisticsOrchestrator.Name, input);
    }

    /// <summary>ChunkedStatistics on a fresh in-memory worker that reads through <paramref name="storage"/> and keeps chunks in <paramref name="cache"/>.</summary>
    private static async Task<OrchestrationMetadata> RunStatisticsAsync(ChunkedStatisticsInput input, CountingDatasetStorage storage, DecodedChunkCache cache)
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(storage, SimdStatisticsKernel.Instance, chunkCache: cache, dataRoot: TestStorage.Root));
        return await harness.RunAsync(ChunkedStatisticsOrchestrator.Name, input);
    }

    private async Task<List<string>> WriteGeneratedAsync(int chunks)
    {
        var generator = new ClassificationGenerator(new ClassificationSpec(Features: 4, Informative: 2, Redundant: 0, Seed: 8));
        var files = new List<string>();
        for (var c = 0; c < chunks; c++)
        {
            var path = Path.Combine(_folder, GenerateDatasetChunkActivity.FileName(c));
            await TestData.WriteParquetChunkAsync(generator, c, 500, path);
            files.Add(path);
        }

        return files;
    }

    /// <summary>The generated chunks of <see cref="WriteGeneratedAsync"/> as a folder of CSV files, one chunk each.</summary>
    private async Task<List<string>> WriteGeneratedCsvAsync(int chunks)
    {
        var generator = new ClassificationGenerator(new ClassificationSpec(Features: 4, Informative: 2, Redundant: 0, Seed: 8));
        var files = new List<string>();
        for (var c = 0; c < chunks; c++)
        {
            var chunk = generator.GenerateChunk(c, 500);
            var csv = new StringBuilder(string.Join(',', generator.ColumnNames) + ",label\n");
            for (var row = 0; row < 500; row++)
            {
                foreach (var column in chunk.Features)
                {
                    csv.Append(column[row].ToString("R", CultureInfo.InvariantCulture)).Append(',');
                }

                csv.Append(CultureInfo.InvariantCulture, $"{chunk.Labels[row]}\n");
            }

            var path = Path.Combine(_folder, $"part-{c:D5}.csv");
            await File.WriteAllTextAsync(path, csv.ToString());
            files.Add(path);
        }

        return files;
    }

    private static void AssertFailed(OrchestrationMetadata result, string reason) => TestData.AssertFailed(result, reason);
}
