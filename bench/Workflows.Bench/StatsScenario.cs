using System.Diagnostics;
using System.Text.Json;
using DurableTask.Core;
using Microsoft.DurableTask.Client;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.DurableTask.InMemory;
using Workflows.Functions;
using Workflows.Functions.Datasets;
using Workflows.Functions.Statistics;
using Workflows.Host.Azurite;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Kernels;
using Workflows.ML.Numerics;
using Workflows.ML.Statistics;
using Workflows.ML.Training;

namespace Workflows.Bench;

/// <summary>
/// The <c>stats</c> scenario: generates a float32 dataset with the GenerateDataset orchestration, then on that data
/// measures Parquet decode alone, decode + each statistics pass (all chunks in parallel on every core), each kernel
/// alone on decoded chunks (one thread), and the ChunkedStatistics orchestration end to end on the in-memory engine
/// and on an Azure Storage task hub on Azurite (started in memory on free ports), on the same local-disk dataset.
/// </summary>
internal static class StatsScenario
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(20);

    /// <summary>Histogram bins, as ChunkedStatistics's default.</summary>
    private const int Bins = 20;

    /// <summary>The statistics target: the whole statistics at no less than this share of the reused-buffer decode's rows/s.</summary>
    private const double TargetShare = 0.8;

    public static async Task<int> RunAsync(StatsOptions options)
    {
        Console.WriteLine(
            $"stats benchmark: rows={options.Rows:N0} features={options.Features} chunks={options.Chunks} repeat={options.Repeat} " +
            $"processors={Environment.ProcessorCount} simd={System.Numerics.Vector<double>.Count}x64-bit");
        var folder = Path.Combine(Path.GetTempPath(), "workflows-bench-stats-" + Guid.NewGuid().ToString("N"));
        try
        {
            return await RunInFolderAsync(options, folder);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task<int> RunInFolderAsync(StatsOptions options, string folder)
    {
        var generateSeconds = await GenerateAsync(options, folder);
        var reader = new DatasetReader(BenchStorage.Local);
        var (dataset, footers) = await reader.DescribeWithFooterRangesAsync(new DatasetSpec(folder, "label"), CancellationToken.None);
        var footerRanges = footers.Merge(null, dataset.Columns);
        if (dataset.RowCount != options.Rows || dataset.Chunks.Count != options.Chunks)
        {
            throw new BenchFailedException($"generated {dataset.RowCount} rows in {dataset.Chunks.Count} chunks, expected {options.Rows} in {options.Chunks}.");
        }

        var bytes = Directory.GetFiles(folder, "*.parquet").Sum(f => new FileInfo(f).Length);
        Console.WriteLine($"  generated {bytes / 1e6:F1} MB of Snappy Parquet in {generateSeconds:F2} s (GenerateDataset orchestration, in-memory engine)");

        // The machine is shared, so the passes are interleaved round by round and each share is the median of
        // per-round ratios: load that comes and goes hits decode and statistics alike. Two decode baselines: as a plain
        // read returns chunks (new arrays per column) and into one buffer per worker reused chunk after chunk (what the
        // statistics' own pass does; the stricter baseline, about a tenth faster). ChunkedStatistics's default
        // (quantiles from the fine histogram) is measured as its activities compute it, groups of
        // --chunks-per-activity chunks, one worker per core: ONE pass when the Parquet footers state every column's
        // range (the case here: our writer, like pyarrow, writes row-group statistics); the two-pass fallback (a column
        // without a footer range: CSV, or a writer without statistics) with the worker's chunk cache (pass 1 decodes
        // and keeps the chunks, pass 2 takes them) and without (pass 2 decodes again). The sketch alternative (pass 1
        // moments + sketch, pass 2 the plain histogram) is measured per chunk as before.
        FirstPassPartial? moments = null;
        var subdivisions = HistogramQuantiles.SubdivisionsFor(Bins, new ChunkedStatisticsInput(folder).QuantileBins);
        var cache = new DecodedChunkCache(options.CacheBytes);
        var names = new[] { "decode", "decode reused", "ONE PASS", "cached pass 1", "cached pass 2", "pass 1", "pass 2", "moments+sketch", "histograms" };
        var rounds = new List<double[]>();
        long hits = 0, misses = 0;
        for (var round = 0; round <= options.Repeat; round++)
        {
            var decodeSeconds = await TimeDecodeAsync(reader, dataset, reuseBuffer: false);
            var reusedSeconds = await TimeDecodeAsync(reader, dataset, reuseBuffer: true);
            var onePass = await TimeOnePassAsync(reader, dataset, footerRanges, options.ChunksPerActivity, subdivisions);
            var hitsBefore = cache.Hits;
            var missesBefore = cache.Misses;
            var (cachedFirst, cachedSecond) = await TimeStatisticsAsync(reader, dataset, options.ChunksPerActivity, subdivisions, new ChunkCacheScope(cache, $"round-{round}"), m => moments = m);
            hits = cache.Hits - hitsBefore;
            misses = cache.Misses - missesBefore;
            var (first, second) = await TimeStatisticsAsync(reader, dataset, options.ChunksPerActivity, subdivisions, null, _ => { });
            var sketchRound = await TimeMomentsAsync(reader, dataset, QuantileSketch.DefaultCapacity, _ => { });
            var histogramRound = await TimeHistogramsAsync(reader, dataset, moments!.Moments, subdivisions: 1);

            // Round 0 only warms up: JIT tiering and the OS file cache.
            if (round > 0)
            {
                rounds.Add([decodeSeconds, reusedSeconds, onePass, cachedFirst, cachedSecond, first, second, sketchRound, histogramRound]);
                Console.WriteLine($"  round {round}: " + string.Join("  ", names.Select((n, i) => $"{n} {rounds[^1][i]:F3} s")));
            }
        }

        Console.WriteLine(
            $"  chunk cache (two-pass fallback): {options.CacheBytes / 1e6:F0} MB budget; last round's pass 2 took {hits} of {hits + misses} chunks from it, " +
            $"{cache.CachedBytes / 1e6:F0} MB left over");
        double Seconds(int i) => Median(rounds.Select(r => r[i]));
        double Share(Func<double[], double> ratio) => Median(rounds.Select(ratio));
        var decode = Seconds(0);
        var reused = Seconds(1);
        var onePassSeconds = Seconds(2);
        var cachedSeconds = Median(rounds.Select(r => r[3] + r[4]));
        var uncachedSeconds = Median(rounds.Select(r => r[5] + r[6]));
        var sketchSeconds = Seconds(7);
        var histogramSeconds = Seconds(8);
        var statsShare = Share(r => r[0] / r[2]);
        var strictShare = Share(r => r[1] / r[2]);
        var reusedShare = Share(r => r[0] / r[1]);
        var cachedShare = Share(r => r[0] / (r[3] + r[4]));
        var cachedFirstShare = Share(r => r[0] / r[3]);
        var cachedSecondShare = Share(r => r[0] / r[4]);
        var uncachedShare = Share(r => r[0] / (r[5] + r[6]));
        var momentsShare = Share(r => r[0] / r[5]);
        var fineShare = Share(r => r[0] / r[6]);
        var sketchShare = Share(r => r[0] / r[7]);
        var histogramShare = Share(r => r[0] / r[8]);
        var wholeSketchShare = Share(r => 2 * r[0] / (r[7] + r[8]));
        // The target is met against the like-for-like baseline: a decode into a reused buffer, as the pass decodes.
        var targetMet = strictShare >= TargetShare;
        var ranges = moments!.Moments;
        Console.WriteLine($"  decode only (new arrays per column, as a read returns them)  {options.Rows / decode,14:N0} rows/s");
        Console.WriteLine($"  decode only, into a reused buffer               {options.Rows / reused,14:N0} rows/s  ({reusedShare:P0} of decode)");
        Console.WriteLine($"  ALL STATISTICS, ONE PASS (footer ranges)        {options.Rows / onePassSeconds,14:N0} rows/s  ({strictShare:P0} of decode into a reused buffer, target {TargetShare:P0}: {(targetMet ? "met" : "NOT met")}; {statsShare:P0} of decode into new arrays)");
        Console.WriteLine($"  two-pass fallback, one decode (chunk cache)     {options.Rows / cachedSeconds,14:N0} rows/s  ({cachedShare:P0} of decode)");
        Console.WriteLine($"    pass 1: decode + moments + labels, keep      {options.Rows / Seconds(3),14:N0} rows/s  ({cachedFirstShare:P0} of decode)");
        Console.WriteLine($"    pass 2: {Bins * subdivisions} fine bins from the cache       {options.Rows / Seconds(4),14:N0} rows/s  ({cachedSecondShare:P0} of decode)");
        Console.WriteLine($"  two-pass fallback, two decodes (no cache)       {options.Rows / uncachedSeconds,14:N0} rows/s  ({uncachedShare:P0} of decode)");
        Console.WriteLine($"    pass 1: decode + moments + labels            {options.Rows / Seconds(5),14:N0} rows/s  ({momentsShare:P0} of decode)");
        Console.WriteLine($"    pass 2: decode + {Bins * subdivisions} fine bins              {options.Rows / Seconds(6),14:N0} rows/s  ({fineShare:P0} of decode)");
        Console.WriteLine($"  sketch alternative, pass 1: + sketch           {options.Rows / sketchSeconds,14:N0} rows/s  ({sketchShare:P0} of decode)");
        Console.WriteLine($"  sketch alternative, pass 2: {Bins} bins            {options.Rows / histogramSeconds,14:N0} rows/s  ({histogramShare:P0} of decode)");
        Console.WriteLine($"  all statistics, quantiles from sketch          {options.Rows / (sketchSeconds + histogramSeconds),14:N0} rows/s  ({wholeSketchShare:P0} of two decodes)");

        var kernels = await MeasureKernelsAsync(options, reader, dataset, ranges);
        var (inMemorySeconds, azuriteSeconds) = await RunOrchestrationsAsync(options, folder);
        Console.WriteLine($"  ChunkedStatistics end to end, in-memory engine {inMemorySeconds,8:F2} s ({options.Rows / inMemorySeconds:N0} rows/s, {options.ChunksPerActivity} chunks per activity)");
        Console.WriteLine($"  ChunkedStatistics end to end, Azurite task hub {azuriteSeconds,8:F2} s ({options.Rows / azuriteSeconds:N0} rows/s; {azuriteSeconds / inMemorySeconds:F2}x in-memory)");

        var json = new Dictionary<string, object>
        {
            ["scenario"] = "stats",
            ["rows"] = options.Rows,
            ["features"] = options.Features,
            ["chunks"] = options.Chunks,
            ["processors"] = Environment.ProcessorCount,
            ["parquetBytes"] = bytes,
            ["generateSeconds"] = Math.Round(generateSeconds, 3),
            ["decodeRowsPerSecond"] = Math.Round(options.Rows / decode),
            ["decodeReusedBufferRowsPerSecond"] = Math.Round(options.Rows / reused),
            ["statsRowsPerSecond"] = Math.Round(options.Rows / onePassSeconds),
            ["statsShareOfDecode"] = Math.Round(statsShare, 3),
            ["statsShareOfReusedDecode"] = Math.Round(strictShare, 3),
            ["statsTargetShareOfReusedDecode"] = TargetShare,
            ["statsTargetMet"] = targetMet,
            ["statsPasses"] = 1,
            ["twoPassCachedRowsPerSecond"] = Math.Round(options.Rows / cachedSeconds),
            ["twoPassCachedShareOfDecode"] = Math.Round(cachedShare, 3),
            ["twoPassFirstPassShareOfDecode"] = Math.Round(cachedFirstShare, 3),
            ["twoPassSecondPassFromCacheShareOfDecode"] = Math.Round(cachedSecondShare, 3),
            ["chunkCacheBudgetBytes"] = options.CacheBytes,
            ["secondPassCacheHits"] = hits,
            ["secondPassCacheMisses"] = misses,
            ["statisticsChunksPerActivity"] = options.ChunksPerActivity,
            ["twoPassUncachedRowsPerSecond"] = Math.Round(options.Rows / uncachedSeconds),
            ["twoPassUncachedShareOfDecode"] = Math.Round(uncachedShare, 3),
            ["momentsRowsPerSecond"] = Math.Round(options.Rows / Seconds(5)),
            ["momentsShareOfDecode"] = Math.Round(momentsShare, 3),
            ["fineHistogramBins"] = Bins * subdivisions,
            ["fineHistogramRowsPerSecond"] = Math.Round(options.Rows / Seconds(6)),
            ["fineHistogramShareOfDecode"] = Math.Round(fineShare, 3),
            ["momentsAndSketchRowsPerSecond"] = Math.Round(options.Rows / sketchSeconds),
            ["momentsAndSketchShareOfDecode"] = Math.Round(sketchShare, 3),
            ["histogramRowsPerSecond"] = Math.Round(options.Rows / histogramSeconds),
            ["histogramShareOfDecode"] = Math.Round(histogramShare, 3),
            ["sketchStatisticsRowsPerSecond"] = Math.Round(options.Rows / (sketchSeconds + histogramSeconds)),
            ["sketchStatisticsShareOfTwoDecodes"] = Math.Round(wholeSketchShare, 3),
            ["loadAverage1m"] = LoadAverage(),
            ["kernelRowsPerSecond"] = kernels,
            ["orchestrationSecondsInMemory"] = Math.Round(inMemorySeconds, 3),
            ["orchestrationSecondsAzurite"] = Math.Round(azuriteSeconds, 3),
            ["orchestrationAzuriteOverInMemory"] = Math.Round(azuriteSeconds / inMemorySeconds, 3),
            ["orchestrationChunksPerActivity"] = options.ChunksPerActivity,
        };
        Console.WriteLine(JsonSerializer.Serialize(json));
        return 0;
    }

    private static async Task<double> GenerateAsync(StatsOptions options, string folder)
    {
        using var service = new InMemoryOrchestrationService();
        var (seconds, result) = await RunOnEngineAsync(
            service,
            GenerateDatasetOrchestrator.Name,
            new GenerateDatasetInput(options.Rows, options.Features, Informative: Math.Min(10, options.Features), options.ChunkRows, Seed: 1, folder),
            new DecodedChunkCache(0));
        if (result.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            throw new BenchFailedException($"GenerateDataset ended {result.RuntimeStatus}: {result.FailureDetails?.ErrorMessage}");
        }

        return seconds;
    }

    /// <summary>ChunkedStatistics end to end on the in-memory engine, then on an Azure Storage task hub on Azurite; the same local-disk data.</summary>
    private static async Task<(double InMemory, double Azurite)> RunOrchestrationsAsync(StatsOptions options, string folder)
    {
        double inMemory;
        using (var service = new InMemoryOrchestrationService())
        {
            inMemory = await RunStatisticsAsync(options, service, folder);
        }

        await using var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        await using var hub = new TaskHubOrchestrationService(new AzureStorageOptions
        {
            ConnectionString = azurite.ConnectionString,
            TaskHubName = "stats" + Guid.NewGuid().ToString("N")[..12],
        });
        await hub.CreateIfNotExistsAsync();
        try
        {
            return (inMemory, await RunStatisticsAsync(options, hub, folder));
        }
        finally
        {
            await hub.DeleteAsync();
        }
    }

    private static async Task<double> RunStatisticsAsync(StatsOptions options, IOrchestrationService service, string folder)
    {
        // A fresh worker cache of the configured budget, as a newly started worker has.
        var cache = new DecodedChunkCache(options.CacheBytes);
        var (seconds, result) = await RunOnEngineAsync(
            service, ChunkedStatisticsOrchestrator.Name, new ChunkedStatisticsInput(folder, "label", ChunksPerActivity: options.ChunksPerActivity), cache);
        var output = result.ReadOutputAs<ChunkedStatisticsOutput>();
        if (result.RuntimeStatus != OrchestrationRuntimeStatus.Completed || output?.Statistics.Rows != options.Rows)
        {
            throw new BenchFailedException($"ChunkedStatistics ended {result.RuntimeStatus} with {output?.Statistics.Rows} rows: {result.FailureDetails?.ErrorMessage}");
        }

        // One pass when the Parquet footers gave every column's exact range; otherwise the second pass's columns and its cache hits.
        Console.WriteLine(output.SecondPassColumns.Count == 0
            ? $"    ({service.GetType().Name}: one pass, every histogram counted in the first pass over the footers' ranges)"
            : $"    ({service.GetType().Name}: {output.SecondPassColumns.Count} columns took the second pass; it took {cache.Hits} of {cache.Hits + cache.Misses} chunks from the worker's cache)");
        return seconds;
    }

    private static async Task<(double Seconds, OrchestrationMetadata Result)> RunOnEngineAsync(IOrchestrationService service, string name, object input, DecodedChunkCache cache)
    {
        await using var engine = await AppEngine.StartAsync(service, SimdStatisticsKernel.Instance, chunkCache: cache);
        using var timeout = new CancellationTokenSource(RunTimeout);
        var clock = Stopwatch.StartNew();
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync(name, input);
        var result = await engine.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        return (clock.Elapsed.TotalSeconds, result);
    }

    /// <summary>
    /// Reads every chunk, one worker per core pulling the next chunk, as activities of several chunks each would.
    /// <paramref name="sinkFor"/> gives, per worker, what to do with each column as it is decoded (null: nothing, the
    /// decode-only pass), with each whole chunk afterwards, and with the worker's partial once the chunks run out.
    /// </summary>
    private static async Task<double> TimePassAsync(
        DatasetReader reader, DatasetDescription dataset, Func<(Action<int, ChunkColumn>? OnColumn, Action<DecodedChunk> Complete, Action Finish)> sinkFor, bool reuseBuffer = false)
    {
        var clock = Stopwatch.StartNew();
        var next = -1;
        var workers = new Task[Environment.ProcessorCount];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                var (onColumn, complete, finish) = sinkFor();
                var buffer = reuseBuffer ? new float[dataset.Chunks.Max(c => c.Rows) * dataset.Columns.Count] : null;
                int index;
                while ((index = Interlocked.Increment(ref next)) < dataset.Chunks.Count)
                {
                    complete(await reader.ReadChunkAsync(dataset, dataset.Chunks[index], null, onColumn, buffer, CancellationToken.None));
                }

                finish();
            });
        }

        await Task.WhenAll(workers);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// ChunkedStatistics's two passes (default quantiles) as its activities run them: the chunks in groups of
    /// <paramref name="chunksPerActivity"/>, one worker per core pulling the next group, ChunkStatistics's pass 1 over
    /// every group, the partials merged, then pass 2 over every group; with <paramref name="cache"/> pass 1 keeps the
    /// decoded chunks and pass 2 takes them. Seconds of each pass.
    /// </summary>
    private static async Task<(double First, double Second)> TimeStatisticsAsync(
        DatasetReader reader, DatasetDescription dataset, int chunksPerActivity, int subdivisions, ChunkCacheScope? cache, Action<FirstPassPartial> result)
    {
        var groups = dataset.Chunks.Chunk(chunksPerActivity).ToArray();
        var clock = Stopwatch.StartNew();
        var merged = await MergeGroupsAsync(
            groups,
            group => ChunkStatistics.ComputeMomentsAsync(FirstPass(reader, dataset, group) with { KeepForSecondPass = cache }, CancellationToken.None),
            static (total, partial) => total.Merge(partial));
        var first = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var histograms = await MergeGroupsAsync(
            groups,
            group => ChunkStatistics.ComputeHistogramsAsync(
                new SecondPassRequest
                {
                    Group = new ChunkGroup(reader, dataset, group, dataset.Columns),
                    Kernel = SimdStatisticsKernel.Instance,
                    FirstPassMoments = merged.Moments,
                    Bins = Bins,
                    Subdivisions = subdivisions,
                    Cache = cache,
                },
                CancellationToken.None),
            static (total, partial) => total.Merge(partial));

        var second = clock.Elapsed.TotalSeconds;
        if (histograms.Counts[0].Sum() != merged.Moments[0].Count)
        {
            throw new BenchFailedException($"the histogram pass counted {histograms.Counts[0].Sum()} values of column 0, the moments {merged.Moments[0].Count}.");
        }

        result(merged);
        return (first, second);
    }

    /// <summary>ChunkStatistics's first pass over <paramref name="group"/>, every feature column, with the SIMD kernel: moments and labels only.</summary>
    private static FirstPassRequest FirstPass(DatasetReader reader, DatasetDescription dataset, ChunkLocation[] group) =>
        new() { Group = new ChunkGroup(reader, dataset, group, dataset.Columns), Kernel = SimdStatisticsKernel.Instance };

    /// <summary>
    /// Runs <paramref name="run"/> on every group, one worker per core pulling the next group, and merges the partials
    /// as they come (each worker into its first, then the workers' into one), as the orchestrator folds activity
    /// results: a partial is not kept alive past its merge. (Keeping all of them to the end made the collector copy
    /// 4 MB of histogram rows per group from generation to generation, which no activity pays.)
    /// </summary>
    private static async Task<T> MergeGroupsAsync<T>(ChunkLocation[][] groups, Func<ChunkLocation[], Task<T>> run, Action<T, T> merge)
        where T : class
    {
        // Folds a partial into a running total (null: none yet); the first partial becomes the total.
        T? Fold(T? total, T? partial)
        {
            if (total is null || partial is null)
            {
                return total ?? partial;
            }

            merge(total, partial);
            return total;
        }

        var next = -1;
        var workers = new Task<T?>[Math.Min(Environment.ProcessorCount, groups.Length)];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                T? merged = null;
                int index;
                while ((index = Interlocked.Increment(ref next)) < groups.Length)
                {
                    merged = Fold(merged, await run(groups[index]));
                }

                return merged;
            });
        }

        T? total = null;
        foreach (var partial in await Task.WhenAll(workers))
        {
            total = Fold(total, partial);
        }

        return total ?? throw new BenchFailedException("no chunk groups to reduce.");
    }

    /// <summary>Decode alone: into new arrays per column (as a plain read returns a chunk) or into one buffer per worker, reused.</summary>
    private static Task<double> TimeDecodeAsync(DatasetReader reader, DatasetDescription dataset, bool reuseBuffer) =>
        TimePassAsync(reader, dataset, static () => (null, static _ => { }, static () => { }), reuseBuffer);

    /// <summary>
    /// ChunkedStatistics's default statistics in one pass, as its first-pass activities compute them when the footers
    /// state every column's range: groups of <paramref name="chunksPerActivity"/> chunks, one worker per core, each
    /// group's moments, labels and fine histograms, merged. Fails when a column would need the second pass.
    /// </summary>
    private static async Task<double> TimeOnePassAsync(
        DatasetReader reader, DatasetDescription dataset, IReadOnlyList<ColumnRange?> footerRanges, int chunksPerActivity, int subdivisions)
    {
        var groups = dataset.Chunks.Chunk(chunksPerActivity).ToArray();
        var clock = Stopwatch.StartNew();
        var merged = await MergeGroupsAsync(
            groups,
            group => ChunkStatistics.ComputeMomentsAsync(
                FirstPass(reader, dataset, group) with { HistogramRanges = footerRanges, Bins = Bins, Subdivisions = subdivisions }, CancellationToken.None),
            static (total, partial) => total.Merge(partial));

        var seconds = clock.Elapsed.TotalSeconds;
        var secondPass = FirstPassHistograms.SecondPassColumns(merged);
        if (secondPass.Count > 0)
        {
            throw new BenchFailedException($"{secondPass.Count} columns would need the second pass: the footers did not state their exact ranges.");
        }

        if (merged.Histograms!.Counts[0].Sum() != merged.Moments[0].Count)
        {
            throw new BenchFailedException($"the one pass counted {merged.Histograms.Counts[0].Sum()} values of column 0, the moments {merged.Moments[0].Count}.");
        }

        return seconds;
    }

    private static async Task<double> TimeMomentsAsync(DatasetReader reader, DatasetDescription dataset, int? sketchCapacity, Action<FirstPassPartial> result)
    {
        var names = dataset.Columns.Select(c => c.Name).ToArray();
        var total = FirstPassPartial.Create(names, sketchCapacity is not null, sketchCapacity ?? QuantileSketch.DefaultCapacity);
        var gate = new Lock();
        var seconds = await TimePassAsync(reader, dataset, () =>
        {
            var partial = FirstPassPartial.Create(names, sketchCapacity is not null, sketchCapacity ?? QuantileSketch.DefaultCapacity);
            return ((i, column) => partial.AddColumn(i, column, SimdStatisticsKernel.Instance), partial.CompleteChunk, () =>
            {
                lock (gate)
                {
                    total.Merge(partial);
                }
            });
        });
        result(total);
        return seconds;
    }

    private static Task<double> TimeHistogramsAsync(DatasetReader reader, DatasetDescription dataset, IReadOnlyList<Moments> ranges, int subdivisions)
    {
        var total = HistogramPartial.Create(ranges, Bins, subdivisions);
        var gate = new Lock();

        // As ChunkStatistics.ComputeHistogramsAsync: the labels were counted in the first pass.
        return TimePassAsync(reader, dataset with { LabelColumn = null }, () =>
        {
            var partial = HistogramPartial.Create(ranges, Bins, subdivisions);
            return ((i, column) => partial.AddColumn(i, column, SimdStatisticsKernel.Instance), partial.CompleteChunk, () =>
            {
                lock (gate)
                {
                    total.Merge(partial);
                }
            });
        });
    }

    /// <summary>Each kernel alone on chunks already decoded into memory, one thread: moments, then histograms.</summary>
    private static async Task<Dictionary<string, object>> MeasureKernelsAsync(StatsOptions options, DatasetReader reader, DatasetDescription dataset, IReadOnlyList<Moments> ranges)
    {
        var chunks = new List<DecodedChunk>();
        long rows = 0;
        foreach (var chunk in dataset.Chunks)
        {
            if (rows >= options.KernelRows)
            {
                break;
            }

            var data = await reader.ReadChunkAsync(dataset, chunk, null, CancellationToken.None);
            chunks.Add(data);
            rows += data.RowCount;
        }

        var results = new Dictionary<string, object>();
        var fineBins = Bins * HistogramQuantiles.SubdivisionsFor(Bins, new ChunkedStatisticsInput("x").QuantileBins);
        using var ilgpu = IlgpuStatisticsKernel.CreateCpu();
        foreach (var kernel in new IStatisticsKernel[] { ScalarStatisticsKernel.Instance, SimdStatisticsKernel.Instance, ilgpu })
        {
            // One untimed round so the ILGPU kernels are compiled and the JIT has tiered up.
            Reduce(kernel, chunks, ranges, fineBins);
            var seconds = new List<(double Moments, double Histograms, double Fine)>();
            for (var r = 0; r < options.Repeat; r++)
            {
                seconds.Add(Reduce(kernel, chunks, ranges, fineBins));
            }

            var moments = Median(seconds.Select(s => s.Moments));
            var histograms = Median(seconds.Select(s => s.Histograms));
            var fine = Median(seconds.Select(s => s.Fine));
            var values = (double)rows * options.Features;
            Console.WriteLine(
                $"  kernel {kernel.Name,-10} moments {rows / moments,14:N0} rows/s ({1e9 * moments / values:F3} ns/value)   histograms {Bins} bins {rows / histograms,14:N0} rows/s " +
                $"({1e9 * histograms / values:F3} ns/value)   {fineBins} bins {rows / fine,14:N0} rows/s ({1e9 * fine / values:F3} ns/value)   ({rows:N0} rows x {options.Features} columns, 1 thread)");
            results[kernel.Name] = new Dictionary<string, double>
            {
                ["moments"] = Math.Round(rows / moments),
                ["histograms"] = Math.Round(rows / histograms),
                ["fineHistograms"] = Math.Round(rows / fine),
            };
        }

        return results;
    }

    /// <summary>Seconds of the moments, the 20-bin histograms and the fine histograms (counts per column, as a partial holds them) of every column of <paramref name="chunks"/>.</summary>
    private static (double Moments, double Histograms, double Fine) Reduce(IStatisticsKernel kernel, IEnumerable<DecodedChunk> chunks, IReadOnlyList<Moments> ranges, int fineBins)
    {
        var list = chunks.ToList();
        var clock = Stopwatch.StartNew();
        var sink = Moments.Empty;
        foreach (var chunk in list)
        {
            foreach (var column in chunk.Columns)
            {
                sink = Moments.Merge(sink, kernel.ComputeMoments(column.Float32Values));
            }
        }

        var momentsSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var counts = new long[20];
        foreach (var chunk in list)
        {
            for (var i = 0; i < chunk.Columns.Count; i++)
            {
                kernel.AddToHistogram(chunk.Columns[i].Float32Values, ranges[i].Min, ranges[i].Max, counts);
            }
        }

        var histogramSeconds = clock.Elapsed.TotalSeconds;
        var fine = ranges.Select(_ => new long[fineBins]).ToArray();
        clock.Restart();
        foreach (var chunk in list)
        {
            for (var i = 0; i < chunk.Columns.Count; i++)
            {
                kernel.AddToHistogram(chunk.Columns[i].Float32Values, ranges[i].Min, ranges[i].Max, fine[i]);
            }
        }

        var fineSeconds = clock.Elapsed.TotalSeconds;
        if (sink.Count == 0 || counts.Sum() != sink.Count || fine.Sum(f => f.Sum()) != sink.Count)
        {
            throw new BenchFailedException($"kernel {kernel.Name} counted {counts.Sum()} and {fine.Sum(f => f.Sum())} values of {sink.Count}.");
        }

        return (momentsSeconds, histogramSeconds, fineSeconds);
    }

    /// <summary>The 1-minute load average (Linux), so a reader can tell a quiet machine's figures from a busy one's.</summary>
    internal static double LoadAverage()
    {
        const string path = "/proc/loadavg";
        return File.Exists(path) && double.TryParse(File.ReadAllText(path).Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture, out var load) ? load : -1;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
