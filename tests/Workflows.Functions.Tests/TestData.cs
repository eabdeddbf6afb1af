using Workflows.Durable;
using Workflows.Durable.Storage;
using Workflows.ML.Data;
using Workflows.ML.Generation;
using Workflows.Testing;
using Xunit;

namespace Workflows.Functions.Tests;

/// <summary>Shared helpers of the orchestration tests: generated Parquet chunks and failure assertions.</summary>
internal static class TestData
{
    /// <summary>Writes chunk <paramref name="chunk"/> of <paramref name="generator"/>'s problem as one Parquet file, as GenerateDataset does.</summary>
    public static async Task WriteParquetChunkAsync(ClassificationGenerator generator, int chunk, int rows, string path)
    {
        var generated = generator.GenerateChunk(chunk, rows);
        var bytes = await ParquetChunkWriter.EncodeAsync(
            generator.ColumnNames, generated.Features, ClassificationGenerator.LabelColumnName, generated.Labels, ParquetCompression.Snappy, CancellationToken.None);
        await TestStorage.Local.WriteAsync(path, bytes, CancellationToken.None);
    }

    /// <summary>Asserts that the instance failed and that its failure message contains <paramref name="reason"/>.</summary>
    public static void AssertFailed(OrchestrationMetadata result, string reason)
    {
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.True(result.FailureDetails!.ErrorMessage.Contains(reason, StringComparison.Ordinal), result.FailureDetails.ErrorMessage);
    }
}
