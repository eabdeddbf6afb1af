using System.Globalization;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Statistics;
using Workflows.ML.Training;

namespace Workflows.Functions.Training;

/// <summary>
/// The IO the training activities share: the standardization from the stats artifact, checkpoints by path, and a
/// dataset chunk turned into the trainer's row-major features and integer labels. Activities pass paths, never
/// weights, so orchestration history stays small whatever the model size.
/// </summary>
internal static class TrainingStorage
{
    public static async Task<byte[]> ReadAllAsync(IDatasetStorage storage, string path, CancellationToken cancellationToken)
    {
        await using var stream = await storage.OpenReadAsync(path, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    public static async Task<FeatureStandardization> LoadStandardizationAsync(
        IDatasetStorage storage, string artifact, IReadOnlyList<DatasetColumn> features, CancellationToken cancellationToken)
    {
        var statistics = StatisticsReport.FromArtifactJson(await ReadAllAsync(storage, artifact, cancellationToken));
        return Standardization(statistics, artifact, features);
    }

    /// <summary>Each feature's mean and population std from the artifact, matched by column name.</summary>
    public static FeatureStandardization Standardization(StatisticsReport statistics, string artifact, IReadOnlyList<DatasetColumn> features)
    {
        var mean = new float[features.Count];
        var std = new float[features.Count];
        for (var i = 0; i < features.Count; i++)
        {
            var name = features[i].Name;
            var column = statistics.Columns.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.Ordinal))
                ?? throw new TrainingDataException($"stats artifact '{artifact}' has no statistics for feature '{name}'.");
            mean[i] = (float)column.Mean;
            std[i] = (float)column.PopulationStd;
        }

        return new FeatureStandardization(mean, std);
    }

    public static async Task<TrainingCheckpoint> ReadCheckpointAsync(IDatasetStorage storage, string path, CancellationToken cancellationToken) =>
        TrainingCheckpoint.FromJson(await ReadAllAsync(storage, path, cancellationToken));

    /// <summary>Writes the checkpoint and returns its path. Rewriting it after a retried activity gives the same bytes.</summary>
    public static async Task<string> WriteCheckpointAsync(
        IDatasetStorage storage, string folder, string fileName, TrainingCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        var path = storage.Combine(folder, fileName);
        await storage.WriteAsync(path, checkpoint.ToJson(), cancellationToken);
        return path;
    }

    /// <summary>
    /// The chunks of <paramref name="chunks"/> in order, each from <paramref name="cache"/> or decoded, with up to
    /// <paramref name="readAhead"/> later chunks decoding on the thread pool while the caller works on the current one
    /// (on a worker with cores to spare, an epoch that has to decode is bound by decoding, not by SGD). Only timing
    /// changes: chunks arrive in the same order with the same content, and a chunk that fails to decode fails when its
    /// turn comes. Read-aheads still running when the caller stops (an error, cancellation) are cancelled and awaited.
    /// </summary>
    public static async IAsyncEnumerable<TrainingChunk> ReadChunksAsync(
        DecodedChunkCache cache,
        string runFolder,
        DatasetReader reader,
        DatasetDescription dataset,
        IReadOnlyList<ChunkLocation> chunks,
        IReadOnlyList<DatasetColumn> features,
        int readAhead,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(readAhead);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pending = new Queue<Task<TrainingChunk>>();
        var next = 0;
        try
        {
            for (var i = 0; i < chunks.Count; i++)
            {
                while (next < chunks.Count && next <= i + readAhead)
                {
                    var chunk = chunks[next++];
                    pending.Enqueue(Task.Run(() => ReadChunkAsync(cache, runFolder, reader, dataset, chunk, features, stop.Token), stop.Token));
                }

                yield return await pending.Dequeue();
            }
        }
        finally
        {
            if (pending.Count > 0)
            {
                await stop.CancelAsync();
                await ((Task)Task.WhenAll(pending)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Chunks decoded ahead of the one in use: one per core beyond the caller's.</summary>
    public static int DefaultReadAhead => Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>
    /// One chunk from <paramref name="cache"/>, or decoded and cached. The key holds the run folder, so only epochs of
    /// the same run share a decoded chunk (a dataset rewritten between runs is decoded afresh), and the chunk's place.
    /// </summary>
    public static Task<TrainingChunk> ReadChunkAsync(
        DecodedChunkCache cache,
        string runFolder,
        DatasetReader reader,
        DatasetDescription dataset,
        ChunkLocation chunk,
        IReadOnlyList<DatasetColumn> features,
        CancellationToken cancellationToken)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{runFolder}|{chunk.File}|{chunk.RowGroup}|{chunk.ByteOffset}|{chunk.Rows}");
        return cache.GetOrLoadAsync(key, token => DecodeChunkAsync(reader, dataset, chunk, features, token), cancellationToken);
    }

    /// <summary>
    /// Reads one chunk as row-major features (NaN kept: the trainer and the scorer impute the mean) and class labels.
    /// A missing or non-integer label fails with the chunk and row.
    /// </summary>
    private static async Task<TrainingChunk> DecodeChunkAsync(
        DatasetReader reader, DatasetDescription dataset, ChunkLocation chunk, IReadOnlyList<DatasetColumn> features, CancellationToken cancellationToken)
    {
        var data = await reader.ReadChunkAsync(dataset, chunk, features, cancellationToken);
        var rows = data.RowCount;
        var width = features.Count;
        var values = new float[(long)rows * width];
        for (var f = 0; f < width; f++)
        {
            var column = data.Columns[f];
            if (column.IsFloat32)
            {
                var source = column.Float32Values;
                for (var row = 0; row < rows; row++)
                {
                    values[(row * width) + f] = source[row];
                }
            }
            else
            {
                var source = column.Float64Values;
                for (var row = 0; row < rows; row++)
                {
                    values[(row * width) + f] = (float)source[row];
                }
            }
        }

        var label = data.Label ?? throw new TrainingDataException($"chunk {chunk.Index} has no label column '{dataset.LabelColumn}'.");
        var labels = new int[rows];
        for (var row = 0; row < rows; row++)
        {
            var value = label[row];
            if (double.IsNaN(value) || value != Math.Floor(value) || value is < 0 or > int.MaxValue)
            {
                throw new TrainingDataException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"chunk {chunk.Index}, row {row}: label '{dataset.LabelColumn}' is {value}; labels must be class indices 0, 1, 2..."));
            }

            labels[row] = (int)value;
        }

        return new TrainingChunk(chunk.Index, values, labels, rows);
    }
}
