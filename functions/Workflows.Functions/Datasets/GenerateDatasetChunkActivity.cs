using Workflows.ML.Data;
using Workflows.ML.Generation;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Datasets;

/// <summary>
/// Draws one chunk from the dataset's generative model and writes it as <c>part-NNNNN.parquet</c>. Re-running it
/// (activities are at-least-once) rewrites the same bytes: the rows depend only on (seed, chunk index).
/// </summary>
public sealed class GenerateDatasetChunkActivity(IDatasetStorage storage)
{
    /// <summary>Registered name.</summary>
    public const string Name = "GenerateDatasetChunk";

    /// <summary>File name of chunk <paramref name="index"/>.</summary>
    public static string FileName(int index) => $"part-{index:D5}.parquet";

    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token.</summary>
    [Function(Name)]
    public async Task<GeneratedChunkFile> RunAsync([ActivityTrigger] GenerateChunkInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var generator = new ClassificationGenerator(input.Dataset.ToSpec());
        var chunk = generator.GenerateChunk(input.ChunkIndex, input.Rows);
        var bytes = await ParquetChunkWriter.EncodeAsync(
            generator.ColumnNames, chunk.Features, ClassificationGenerator.LabelColumnName, chunk.Labels, input.Dataset.Compression, context.CancellationToken);
        var path = storage.Combine(input.Dataset.Destination, FileName(input.ChunkIndex));
        await storage.WriteAsync(path, bytes, context.CancellationToken);
        return new GeneratedChunkFile(path, input.Rows, bytes.Length);
    }
}
