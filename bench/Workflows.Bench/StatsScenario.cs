using System.Diagnostics;
using System.Text.Json;
using Workflows.Durable;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.Client;
using Workflows.Durable.InMemory;
using Workflows.Durable.Storage;
using Workflows.Durable.Worker;
using Workflows.Functions;
using Workflows.Functions.Datasets;
using Workflows.Functions.Statistics;
using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;

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
        var reader = new DatasetReader(LocalDatasetStorage.Instance);
        var dataset = await reader.DescribeAsync(new DatasetSpec(folder, "label"), CancellationToken.None);
        if (dataset.RowCount != options.Rows || dataset.Chunks.Count != options.Chunks)
        {
            throw new BenchFailedException($"generated {dataset.RowCount} rows in {dataset.Chunks.Count} chunks, expected {options.Rows} in {options.Chunks}.");
        }

        var bytes = Directory.GetFiles(folder, "*.parquet").Sum(f => new FileInfo(f).Length);
        Console.WriteLine($"  generated {bytes / 1e6:F1} MB of Snappy Parquet in {generateSeconds:F2} s (GenerateDataset orchestration, in-memory engine)");

        // The machine is shared, so the passes are interleaved round by round and each share is the median of
        // per-round ratios: load that comes and goes hits decode and statistics alike. ChunkedStatistics reads the
        // data twice: with quantiles from the fine histogram (the default) pass 1 is moments and pass 2 the fine
        // histogram; with the sketch (the alternative) pass 1 is moments + sketch and pass 2 the plain histogram.
        MomentsPartial? moments = null;
        var subdivisions = HistogramQuantiles.SubdivisionsFor(Bins, new ChunkedStatisticsInput(folder).QuantileBins);
        var names = new[] { "decode", "moments", "moments+sketch", "histograms", "fine histograms" };
        var rounds = new List<double[]>();
        for (var round = 0; round <= options.Repeat; round++)
        {
            var decodeSeconds = await TimeDecodeAsync(reader, dataset);
            var momentsRound = await TimeMomentsAsync(reader, dataset, sketchCapacity: null, m => moments = m);
            var sketchRound = await TimeMomentsAsync(reader, dataset, QuantileSketch.DefaultCapacity, _ => { });
            var histogramRound = await TimeHistogramsAsync(reader, dataset, moments!.Moments, subdivisions: 1);
            var fineRound = await TimeHistogramsAsync(reader, dataset, moments!.Moments, subdivisions);

            // Round 0 only warms up: JIT tiering and the OS file cache.
            if (round > 0)
            {
                rounds.Add([decodeSeconds, momentsRound, sketchRound, histogramRound, fineRound]);
                Console.WriteLine($"  round {round}: " + string.Join("  ", names.Select((n, i) => $"{n} {rounds[^1][i]:F2} s")));
            }
        }

        var decode = Median(rounds.Select(r => r[0]));
        var momentsSeconds = Median(rounds.Select(r => r[1]));
        var sketchSeconds = Median(rounds.Select(r => r[2]));
        var histogramSeconds = Median(rounds.Select(r => r[3]));
        var fineSeconds = Median(rounds.Select(r => r[4]));
        var momentsShare = Median(rounds.Select(r => r[0] / r[1]));
        var sketchShare = Median(rounds.Select(r => r[0] / r[2]));
        var histogramShare = Median(rounds.Select(r => r[0] / r[3]));
        var fineShare = Median(rounds.Select(r => r[0] / r[4]));

        // The whole statistics against the decoding it needs: two passes, so two decodes.
        var wholeShare = Median(rounds.Select(r => 2 * r[0] / (r[1] + r[4])));
        var wholeSketchShare = Median(rounds.Select(r => 2 * r[0] / (r[2] + r[3])));
        var ranges = moments!.Moments;
        Console.WriteLine($"  decode only                              {options.Rows / decode,14:N0} rows/s");
        Console.WriteLine($"  pass 1: decode + moments (SIMD)          {options.Rows / momentsSeconds,14:N0} rows/s  ({momentsShare:P0} of decode)");
        Console.WriteLine($"  pass 2: decode + histograms, {Bins * subdivisions} fine bins {options.Rows / fineSeconds,10:N0} rows/s  ({fineShare:P0} of decode)");
        Console.WriteLine($"  all statistics, quantiles from histogram {options.Rows / (momentsSeconds + fineSeconds),14:N0} rows/s  ({wholeShare:P0} of two decodes)");
        Console.WriteLine($"  sketch alternative, pass 1: + sketch     {options.Rows / sketchSeconds,14:N0} rows/s  ({sketchShare:P0} of decode)");
        Console.WriteLine($"  sketch alternative, pass 2: {Bins} bins      {options.Rows / histogramSeconds,14:N0} rows/s  ({histogramShare:P0} of decode)");
        Console.WriteLine($"  all statistics, quantiles from sketch    {options.Rows / (sketchSeconds + histogramSeconds),14:N0} rows/s  ({wholeSketchShare:P0} of two decodes)");

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
            ["momentsRowsPerSecond"] = Math.Round(options.Rows / momentsSeconds),
            ["momentsShareOfDecode"] = Math.Round(momentsShare, 3),
            ["fineHistogramBins"] = Bins * subdivisions,
            ["fineHistogramRowsPerSecond"] = Math.Round(options.Rows / fineSeconds),
            ["fineHistogramShareOfDecode"] = Math.Round(fineShare, 3),
            ["statisticsRowsPerSecond"] = Math.Round(options.Rows / (momentsSeconds + fineSeconds)),
            ["statisticsShareOfTwoDecodes"] = Math.Round(wholeShare, 3),
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
        using var provider = new InMemoryStorageProvider();
        var (seconds, result) = await RunOnEngineAsync(
            provider,
            GenerateDatasetOrchestrator.Name,
            new GenerateDatasetInput(options.Rows, options.Features, Informative: Math.Min(10, options.Features), options.ChunkRows, Seed: 1, folder));
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
        using (var provider = new InMemoryStorageProvider())
        {
            inMemory = await RunStatisticsAsync(options, provider, folder);
        }

        await using var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        await using var hub = new AzureStorageProvider(new AzureStorageOptions
        {
            ConnectionString = azurite.ConnectionString,
            TaskHubName = "stats" + Guid.NewGuid().ToString("N")[..12],
        });
        try
        {
            return (inMemory, await RunStatisticsAsync(options, hub, folder));
        }
        finally
        {
            await hub.Clients.DeleteAsync();
        }
    }

    private static async Task<double> RunStatisticsAsync(StatsOptions options, IStorageProvider provider, string folder)
    {
        var (seconds, result) = await RunOnEngineAsync(
            provider, ChunkedStatisticsOrchestrator.Name, new ChunkedStatisticsInput(folder, "label", ChunksPerActivity: options.ChunksPerActivity));
        var output = result.ReadOutputAs<ChunkedStatisticsOutput>();
        if (result.RuntimeStatus != OrchestrationRuntimeStatus.Completed || output?.Statistics.Rows != options.Rows)
        {
            throw new BenchFailedException($"ChunkedStatistics ended {result.RuntimeStatus} with {output?.Statistics.Rows} rows: {result.FailureDetails?.ErrorMessage}");
        }

        return seconds;
    }

    private static async Task<(double Seconds, OrchestrationMetadata Result)> RunOnEngineAsync(IStorageProvider provider, string name, object input)
    {
        var worker = new DurableTaskWorker(provider, new DurableTaskRegistry().AddWorkflowFunctions(kernel: SimdStatisticsKernel.Instance));
        await worker.StartAsync(CancellationToken.None);
        try
        {
            var client = new DurableTaskClient(provider);
            using var timeout = new CancellationTokenSource(RunTimeout);
            var clock = Stopwatch.StartNew();
            var id = await client.ScheduleNewOrchestrationInstanceAsync(name, input);
            var result = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
            return (clock.Elapsed.TotalSeconds, result);
        }
        finally
        {
            await worker.StopAsync(CancellationToken.None);
            await worker.DisposeAsync();
        }
    }

    /// <summary>
    /// Reads every chunk, one worker per core pulling the next chunk, as activities of several chunks each would.
    /// <paramref name="sinkFor"/> gives, per worker, what to do with each column as it is decoded (null: nothing, the
    /// decode-only pass), with each whole chunk afterwards, and with the worker's partial once the chunks run out.
    /// </summary>
    private static async Task<double> TimePassAsync(
        DatasetReader reader, DatasetDescription dataset, Func<(Action<int, ChunkColumn>? OnColumn, Action<DataChunk> Complete, Action Finish)> sinkFor)
    {
        var clock = Stopwatch.StartNew();
        var next = -1;
        var workers = new Task[Environment.ProcessorCount];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                var (onColumn, complete, finish) = sinkFor();
                int index;
                while ((index = Interlocked.Increment(ref next)) < dataset.Chunks.Count)
                {
                    complete(await reader.ReadChunkAsync(dataset, dataset.Chunks[index], null, onColumn, CancellationToken.None));
                }

                finish();
            });
        }

        await Task.WhenAll(workers);
        return clock.Elapsed.TotalSeconds;
    }

    private static Task<double> TimeDecodeAsync(DatasetReader reader, DatasetDescription dataset) =>
        TimePassAsync(reader, dataset, static () => (null, static _ => { }, static () => { }));

    private static async Task<double> TimeMomentsAsync(DatasetReader reader, DatasetDescription dataset, int? sketchCapacity, Action<MomentsPartial> result)
    {
        var names = dataset.Columns.Select(c => c.Name).ToArray();
        var total = MomentsPartial.Create(names, sketchCapacity is not null, sketchCapacity ?? QuantileSketch.DefaultCapacity);
        var gate = new Lock();
        var seconds = await TimePassAsync(reader, dataset, () =>
        {
            var partial = MomentsPartial.Create(names, sketchCapacity is not null, sketchCapacity ?? QuantileSketch.DefaultCapacity);
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
        var chunks = new List<DataChunk>();
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
        using var ilgpu = IlgpuStatisticsKernel.CreateCpu();
        foreach (var kernel in new IStatisticsKernel[] { ScalarStatisticsKernel.Instance, SimdStatisticsKernel.Instance, ilgpu })
        {
            // One untimed round so the ILGPU kernels are compiled and the JIT has tiered up.
            Reduce(kernel, chunks, ranges);
            var seconds = new List<(double Moments, double Histograms)>();
            for (var r = 0; r < options.Repeat; r++)
            {
                seconds.Add(Reduce(kernel, chunks, ranges));
            }

            var moments = Median(seconds.Select(s => s.Moments));
            var histograms = Median(seconds.Select(s => s.Histograms));
            Console.WriteLine($"  kernel {kernel.Name,-10} moments {rows / moments,14:N0} rows/s   histograms {rows / histograms,14:N0} rows/s   ({rows:N0} rows x {options.Features} columns, 1 thread)");
            results[kernel.Name] = new Dictionary<string, double>
            {
                ["moments"] = Math.Round(rows / moments),
                ["histograms"] = Math.Round(rows / histograms),
            };
        }

        return results;
    }

    private static (double Moments, double Histograms) Reduce(IStatisticsKernel kernel, IEnumerable<DataChunk> chunks, IReadOnlyList<Moments> ranges)
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

        if (sink.Count == 0 || counts.Sum() == 0)
        {
            throw new BenchFailedException($"kernel {kernel.Name} saw no values.");
        }

        return (momentsSeconds, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The 1-minute load average (Linux), so a reader can tell a quiet machine's figures from a busy one's.</summary>
    private static double LoadAverage()
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
