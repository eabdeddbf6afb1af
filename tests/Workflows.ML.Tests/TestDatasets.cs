using Workflows.ML.Data;
using Workflows.ML.Generation;

using Workflows.Testing;
namespace Workflows.ML.Tests;

/// <summary>Small generated datasets written the way the GenerateDataset orchestration writes them.</summary>
internal static class TestDatasets
{
    public static async Task<ClassificationGenerator> WriteParquetFolderAsync(
        string folder, ClassificationSpec spec, int chunks, int rowsPerChunk, ParquetCompression compression = ParquetCompression.Snappy)
    {
        var generator = new ClassificationGenerator(spec);
        for (var c = 0; c < chunks; c++)
        {
            var chunk = generator.GenerateChunk(c, rowsPerChunk);
            var bytes = await ParquetChunkWriter.EncodeAsync(generator.ColumnNames, chunk.Features, ClassificationGenerator.LabelColumnName, chunk.Labels, compression, CancellationToken.None);
            await TestStorage.Local.WriteAsync(Path.Combine(folder, $"part-{c:D5}.parquet"), bytes, CancellationToken.None);
        }

        return generator;
    }
}
