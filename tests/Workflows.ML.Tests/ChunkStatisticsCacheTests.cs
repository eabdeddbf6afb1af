using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Generation;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;
using Workflows.ML.Training;
using Workflows.Testing;
using Xunit;

namespace Workflows.ML.Tests;

/// <summary>The second statistics pass from the first pass's decoded chunks: same counts, never stale, within budget.</summary>
public sealed class ChunkStatisticsCacheTests
{
    private const int Bins = 8;
    private const int Subdivisions = 64;
    private static readonly DatasetReader Reader = new(TestStorage.Local);
    private static readonly IStatisticsKernel Kernel = SimdStatisticsKernel.Instance;

    [Fact]
    public async Task SecondPass_ChunksFromTheCache_CountsExactlyWhatDecodingCounts()
    {
        using var temp = new TempFolder();
        var dataset = await WriteAsync(temp.Path, seed: 3);
        var cache = new DecodedChunkCache(1 << 24);
        var scope = new ChunkCacheScope(cache, "instance-1");

        var first = await ChunkStatistics.ComputeMomentsAsync(FirstPass(dataset, dataset.Columns) with { KeepForSecondPass = scope }, CancellationToken.None);
        Assert.Equal(4, cache.Count);
        var fromCache = await SecondPassAsync(dataset, first, scope);
        var decoded = await SecondPassAsync(dataset, first, cache: null);

        Assert.Equal(4, cache.Hits);
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.CachedBytes);
        AssertSameCounts(decoded, fromCache);

        // Exactly what the first pass counted: every non-NaN value once.
        Assert.All(fromCache.Counts, counts => Assert.Equal(4_000, counts.Sum()));

        // The buffers went back to the pool; a second run decodes into them and counts the same again.
        var pooled = cache.PooledBytes;
        Assert.True(pooled > 0);
        var again = await ChunkStatistics.ComputeMomentsAsync(FirstPass(dataset, dataset.Columns) with { KeepForSecondPass = new ChunkCacheScope(cache, "instance-2") }, CancellationToken.None);
        Assert.Equal(0, cache.PooledBytes);
        Assert.Equal(first.Moments, again.Moments);
        AssertSameCounts(decoded, await SecondPassAsync(dataset, again, new ChunkCacheScope(cache, "instance-2")));
        Assert.Equal(8, cache.Hits);
        Assert.Equal(pooled, cache.PooledBytes);
    }

    [Fact]
    public async Task SecondPass_FileRewrittenAfterTheFirstPass_DecodesTheNewFile()
    {
        using var temp = new TempFolder();
        var dataset = await WriteAsync(temp.Path, seed: 3);
        var cache = new DecodedChunkCache(1 << 24);
        var scope = new ChunkCacheScope(cache, "instance-1");
        var first = await ChunkStatistics.ComputeMomentsAsync(FirstPass(dataset, dataset.Columns) with { KeepForSecondPass = scope }, CancellationToken.None);
        var file = TestStorage.FullPath(dataset.Chunks[1].File);
        var before = await ChunkStatistics.SecondPassKeyAsync(Reader, dataset, dataset.Chunks[1], dataset.Columns, CancellationToken.None);
        var written = File.GetLastWriteTimeUtc(file);

        // Other data in the same place: another generator's chunk, with a later write time whatever the file system's clock resolution.
        await RewriteAsync(file, seed: 99);
        File.SetLastWriteTimeUtc(file, written.AddSeconds(10));
        var after = await ChunkStatistics.SecondPassKeyAsync(Reader, dataset, dataset.Chunks[1], dataset.Columns, CancellationToken.None);
        var fromCache = await SecondPassAsync(dataset, first, scope);
        var decoded = await SecondPassAsync(dataset, first, cache: null);

        Assert.NotEqual(before, after);
        Assert.Equal(3, cache.Hits);
        Assert.Equal(1, cache.Misses);
        AssertSameCounts(decoded, fromCache);
    }

    [Fact]
    public async Task FirstPass_DataLargerThanTheBudget_KeepsTheFirstChunksWithinBudgetAndTheSecondPassStaysExact()
    {
        using var temp = new TempFolder();
        var dataset = await WriteAsync(temp.Path, seed: 5);
        var probe = await Reader.ReadChunkAsync(dataset with { LabelColumn = null }, dataset.Chunks[0], dataset.Columns, CancellationToken.None);
        var cache = new DecodedChunkCache((2 * ChunkStatistics.SizeOf(new CachedChunk(probe, new float[probe.RowCount * probe.Columns.Count]))) + 100);
        var scope = new ChunkCacheScope(cache, "instance-1");

        var first = await ChunkStatistics.ComputeMomentsAsync(FirstPass(dataset, dataset.Columns) with { KeepForSecondPass = scope }, CancellationToken.None);
        Assert.Equal(2, cache.Count);
        Assert.InRange(cache.CachedBytes, 0, cache.BudgetBytes);
        var fromCache = await SecondPassAsync(dataset, first, scope);
        var decoded = await SecondPassAsync(dataset, first, cache: null);

        // Chunks 0 and 1 (the scan did not evict its own to admit 2 and 3) come from the cache, 2 and 3 are decoded.
        Assert.Equal(2, cache.Hits);
        Assert.Equal(2, cache.Misses);
        AssertSameCounts(decoded, fromCache);
    }

    [Fact]
    public async Task FirstPass_ColumnSubset_IsNotServedToASecondPassOfOtherColumns()
    {
        using var temp = new TempFolder();
        var dataset = await WriteAsync(temp.Path, seed: 7);
        var cache = new DecodedChunkCache(1 << 24);
        var scope = new ChunkCacheScope(cache, "instance-1");
        var subset = DatasetReader.ResolveColumns(dataset, ["f0", "f2"]);
        var other = DatasetReader.ResolveColumns(dataset, ["f0", "f3"]);

        var first = await ChunkStatistics.ComputeMomentsAsync(FirstPass(dataset, subset) with { KeepForSecondPass = scope }, CancellationToken.None);
        var histograms = await ChunkStatistics.ComputeHistogramsAsync(SecondPass(dataset, other, first) with { Cache = scope }, CancellationToken.None);

        Assert.Equal(0, cache.Hits);
        Assert.Equal(4, cache.Count);
        Assert.All(histograms.Counts, counts => Assert.Equal(4_000, counts.Sum()));
    }

    [Fact]
    public async Task ReadChunkAsync_IntoAFeatureBuffer_ReadsTheSameValuesAndIgnoresABufferTooSmall()
    {
        using var temp = new TempFolder();
        var dataset = await WriteAsync(temp.Path, seed: 9);
        var plain = await Reader.ReadChunkAsync(dataset, dataset.Chunks[2], null, CancellationToken.None);
        var buffer = new float[(1_000 * dataset.Columns.Count) + 3];
        var small = new float[(1_000 * dataset.Columns.Count) - 1];

        var buffered = await Reader.ReadChunkAsync(dataset, dataset.Chunks[2], null, null, buffer, CancellationToken.None);
        var unbuffered = await Reader.ReadChunkAsync(dataset, dataset.Chunks[2], null, null, small, CancellationToken.None);

        for (var i = 0; i < dataset.Columns.Count; i++)
        {
            Assert.Equal(plain.Columns[i].Float32Values.ToArray(), buffered.Columns[i].Float32Values.ToArray());
            Assert.Equal(plain.Columns[i].Float32Values.ToArray(), buffer.AsSpan(i * 1_000, 1_000).ToArray());
            Assert.Equal(plain.Columns[i].Float32Values.ToArray(), unbuffered.Columns[i].Float32Values.ToArray());
            Assert.Equal(plain.Columns[i][999], buffered.Columns[i][999]);
        }

        Assert.All(small, v => Assert.Equal(0f, v));
        Assert.Equal(plain.Label!.Float64Values.ToArray(), buffered.Label!.Float64Values.ToArray());
    }

    [Fact]
    public async Task SecondPass_CsvChunksFromTheCache_CountsExactlyWhatDecodingCounts()
    {
        // CSV columns are float64 with arrays of their own (no pooled float buffer): kept and counted all the same.
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "data.csv");
        var random = new Random(12);
        var lines = new List<string> { "x,y,label" };
        for (var row = 0; row < 2_500; row++)
        {
            lines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{random.NextDouble() * 10:R},{random.NextDouble() - 0.5:R},{row % 3}"));
        }

        await File.WriteAllLinesAsync(path, lines);
        var dataset = await Reader.DescribeAsync(new DatasetSpec(path, "label", CsvChunkRows: 1_000), CancellationToken.None);
        var cache = new DecodedChunkCache(1 << 24);
        var scope = new ChunkCacheScope(cache, "instance-1");

        var first = await ChunkStatistics.ComputeMomentsAsync(FirstPass(dataset, dataset.Columns) with { KeepForSecondPass = scope }, CancellationToken.None);
        var fromCache = await SecondPassAsync(dataset, first, scope);
        var decoded = await SecondPassAsync(dataset, first, cache: null);

        Assert.Equal(3, dataset.Chunks.Count);
        Assert.Equal(3, cache.Hits);
        Assert.Equal(0, cache.PooledBytes);
        AssertSameCounts(decoded, fromCache);
        Assert.All(fromCache.Counts, counts => Assert.Equal(2_500, counts.Sum()));
    }

    private static async Task<HistogramPartial> SecondPassAsync(DatasetDescription dataset, FirstPassPartial first, ChunkCacheScope? cache) =>
        await ChunkStatistics.ComputeHistogramsAsync(SecondPass(dataset, dataset.Columns, first) with { Cache = cache }, CancellationToken.None);

    /// <summary>The first pass over all of <paramref name="dataset"/>'s chunks, nothing kept.</summary>
    private static FirstPassRequest FirstPass(DatasetDescription dataset, IReadOnlyList<DatasetColumn> columns) =>
        new() { Group = new ChunkGroup(Reader, dataset, dataset.Chunks, columns), Kernel = Kernel };

    /// <summary>The second pass over all of <paramref name="dataset"/>'s chunks and <see cref="FirstPassPartial.Moments"/> of <paramref name="first"/>, every chunk decoded.</summary>
    private static SecondPassRequest SecondPass(DatasetDescription dataset, IReadOnlyList<DatasetColumn> columns, FirstPassPartial first) =>
        new() { Group = new ChunkGroup(Reader, dataset, dataset.Chunks, columns), Kernel = Kernel, FirstPassMoments = first.Moments, Bins = Bins, Subdivisions = Subdivisions };

    private static async Task<DatasetDescription> WriteAsync(string folder, int seed)
    {
        await TestDatasets.WriteParquetFolderAsync(folder, Spec(seed), chunks: 4, rowsPerChunk: 1_000);
        return await Reader.DescribeAsync(new DatasetSpec(folder, "label"), CancellationToken.None);
    }

    private static async Task RewriteAsync(string file, int seed)
    {
        var generator = new ClassificationGenerator(Spec(seed));
        var chunk = generator.GenerateChunk(1, 1_000);
        var bytes = await ParquetChunkWriter.EncodeAsync(generator.ColumnNames, chunk.Features, ClassificationGenerator.LabelColumnName, chunk.Labels, ParquetCompression.Snappy, CancellationToken.None);
        await TestStorage.Local.WriteAsync(file, bytes, CancellationToken.None);
    }

    private static ClassificationSpec Spec(int seed) => new(Features: 5, Informative: 2, Redundant: 1, Seed: seed);

    private static void AssertSameCounts(HistogramPartial expected, HistogramPartial actual)
    {
        Assert.Equal(expected.Chunks, actual.Chunks);
        Assert.Equal(expected.Counts.Length, actual.Counts.Length);
        for (var column = 0; column < expected.Counts.Length; column++)
        {
            Assert.Equal(expected.Counts[column], actual.Counts[column]);
        }
    }
}
