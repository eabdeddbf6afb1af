using System.Diagnostics;
using System.Globalization;
using Workflows.Functions.Datasets;
using Workflows.ML.Data;
using Workflows.ML.Generation;
using Workflows.ML.Statistics;
using Workflows.ML.Training;

namespace Workflows.Bench;

/// <summary>
/// The <c>train</c> scenario's data: the make_classification generator of Workflows.ML written as Snappy Parquet
/// (the GenerateDataset activity's file layout), a training folder and a holdout folder drawn from the same
/// generative model (the holdout has its own chunk indices, so its rows are new), and the decode the training
/// activities do: Parquet to row-major float32 features and class labels.
/// </summary>
internal static class TrainData
{
    public const string LabelColumn = ClassificationGenerator.LabelColumnName;

    /// <summary>sklearn's make_classification defaults but for the shape: 2 redundant features, 2 clusters per class, class_sep 1, flip_y 0.01.</summary>
    public static ClassificationSpec SpecFor(TrainOptions options) =>
        new(options.Features, options.Informative, Redundant: Math.Min(2, options.Features - options.Informative), Classes: 2, Seed: (long)options.Seed);

    /// <summary>Writes chunks <paramref name="firstChunk"/>.. of <paramref name="rows"/> rows in all, <paramref name="chunkRows"/> per file.</summary>
    public static async Task<long> WriteAsync(ClassificationGenerator generator, string folder, int firstChunk, int rows, int chunkRows)
    {
        Directory.CreateDirectory(folder);
        var chunks = (rows + chunkRows - 1) / chunkRows;
        long bytes = 0;
        await Parallel.ForAsync(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, async (i, token) =>
        {
            var chunkIndex = firstChunk + i;
            var chunk = generator.GenerateChunk(chunkIndex, Math.Min(chunkRows, rows - (i * chunkRows)));
            var encoded = await ParquetChunkWriter.EncodeAsync(generator.ColumnNames, chunk.Features, LabelColumn, chunk.Labels, ParquetCompression.Snappy, token);
            await File.WriteAllBytesAsync(Path.Combine(folder, GenerateDatasetChunkActivity.FileName(chunkIndex)), encoded, token);
            Interlocked.Add(ref bytes, encoded.Length);
        });
        return bytes;
    }

    /// <summary>
    /// Decodes every chunk of the folder, one chunk at a time on one thread, or (<paramref name="parallel"/>) chunks in
    /// parallel on every core, as the epoch activities' read-ahead can; returns the chunks and the seconds.
    /// </summary>
    public static async Task<(TrainingChunk[] Chunks, double Seconds)> DecodeAsync(string folder, int expectedRows, bool parallel = false)
    {
        var reader = new DatasetReader(BenchStorage.Local);
        var clock = Stopwatch.StartNew();
        var dataset = await reader.DescribeAsync(new DatasetSpec(folder, LabelColumn), CancellationToken.None);
        var features = DatasetReader.ResolveColumns(dataset, null);
        var chunks = new TrainingChunk[dataset.Chunks.Count];
        if (parallel)
        {
            await Parallel.ForAsync(0, chunks.Length, async (i, token) =>
                chunks[i] = ToTrainingChunk(await reader.ReadChunkAsync(dataset, dataset.Chunks[i], features, token), i));
        }
        else
        {
            for (var i = 0; i < chunks.Length; i++)
            {
                var data = await reader.ReadChunkAsync(dataset, dataset.Chunks[i], features, CancellationToken.None);
                chunks[i] = ToTrainingChunk(data, i);
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var rows = chunks.Sum(c => (long)c.RowCount);
        if (rows != expectedRows)
        {
            throw new BenchFailedException($"decoded {rows} rows from '{folder}', expected {expectedRows}.");
        }

        return (chunks, seconds);
    }

    /// <summary>Each feature's mean and population std from a ChunkedStatistics artifact (the features are f0, f1, ...).</summary>
    public static FeatureStandardization StandardizationFrom(byte[] artifactJson, IReadOnlyList<string> featureNames)
    {
        var report = StatisticsReport.FromArtifactJson(artifactJson);
        var mean = new float[featureNames.Count];
        var std = new float[featureNames.Count];
        for (var i = 0; i < featureNames.Count; i++)
        {
            var column = report.Columns.FirstOrDefault(c => string.Equals(c.Name, featureNames[i], StringComparison.Ordinal))
                ?? throw new BenchFailedException($"the stats artifact has no column '{featureNames[i]}'.");
            mean[i] = (float)column.Mean;
            std[i] = (float)column.PopulationStd;
        }

        return new FeatureStandardization(mean, std);
    }

    private static TrainingChunk ToTrainingChunk(DecodedChunk data, int index)
    {
        var rows = data.RowCount;
        var width = data.Columns.Count;
        var values = new float[(long)rows * width];
        for (var f = 0; f < width; f++)
        {
            var source = data.Columns[f].Float32Values;
            for (var row = 0; row < rows; row++)
            {
                values[(row * width) + f] = source[row];
            }
        }

        var label = data.Label ?? throw new BenchFailedException($"chunk {index} has no label column.");
        var labels = new int[rows];
        for (var row = 0; row < rows; row++)
        {
            var value = label[row];
            labels[row] = value is 0 or 1
                ? (int)value
                : throw new BenchFailedException(string.Create(CultureInfo.InvariantCulture, $"chunk {index}, row {row}: label {value} is not 0 or 1."));
        }

        return new TrainingChunk(index, values, labels, rows);
    }
}
