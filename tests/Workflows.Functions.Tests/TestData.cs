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

    /// <summary>
    /// Writes <paramref name="chunks"/> Parquet files of <paramref name="rows"/> rows into <paramref name="folder"/>:
    /// float32 features <c>x</c> and <c>y</c> and a float32 column <c>label</c> with <paramref name="labelOf"/>(row).
    /// </summary>
    public static async Task WriteFloatLabelDatasetAsync(string folder, int chunks, int rows, Func<int, float> labelOf)
    {
        var x = new Parquet.Schema.DataField<float>("x", false);
        var y = new Parquet.Schema.DataField<float>("y", false);
        var label = new Parquet.Schema.DataField<float>("label", false);
        for (var c = 0; c < chunks; c++)
        {
            var xs = new float[rows];
            var ys = new float[rows];
            var labels = new float[rows];
            for (var row = 0; row < rows; row++)
            {
                var global = (c * rows) + row;
                labels[row] = labelOf(global);
                xs[row] = (global % 13) + labels[row];
                ys[row] = (global % 7) - labels[row];
            }

            using var output = new MemoryStream();
            await using (var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(x, y, label), output))
            using (var group = writer.CreateRowGroup())
            {
                await group.WriteAsync<float>(x, xs.AsMemory(), null, null, CancellationToken.None);
                await group.WriteAsync<float>(y, ys.AsMemory(), null, null, CancellationToken.None);
                await group.WriteAsync<float>(label, labels.AsMemory(), null, null, CancellationToken.None);
            }

            await TestStorage.Local.WriteAsync(Path.Combine(folder, $"part-{c:D5}.parquet"), output.ToArray(), CancellationToken.None);
        }
    }

    /// <summary>Asserts that the instance failed and that its failure message contains <paramref name="reason"/>.</summary>
    public static void AssertFailed(OrchestrationMetadata result, string reason)
    {
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.True(result.FailureDetails!.ErrorMessage.Contains(reason, StringComparison.Ordinal), result.FailureDetails.ErrorMessage);
    }
}
