using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
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

    /// <summary>
    /// Writes <paramref name="chunks"/> Parquet files of <paramref name="rows"/> rows into <paramref name="folder"/> the
    /// way Apache Arrow does with page checksums on (ParquetSharp; Parquet.Net writes none): float32 features <c>x</c>
    /// and <c>y</c> and an int32 <c>label</c> of two classes, uncompressed PLAIN pages, so every value's four bytes
    /// stand in the file as they are (see <see cref="FlipLowestBitOfValueAsync"/>). Returns the files' paths.
    /// </summary>
    public static string[] WriteChecksummedDataset(string folder, int chunks, int rows)
    {
        Directory.CreateDirectory(folder);
        var paths = new string[chunks];
        for (var c = 0; c < chunks; c++)
        {
            using var builder = new ParquetSharp.WriterPropertiesBuilder();
            using var properties = builder.Compression(ParquetSharp.Compression.Uncompressed).DisableDictionary().EnablePageChecksum().Build();
            paths[c] = Path.Combine(folder, $"part-{c:D5}.parquet");
            using var writer = new ParquetSharp.ParquetFileWriter(
                paths[c], [new ParquetSharp.Column<float>("x"), new ParquetSharp.Column<float>("y"), new ParquetSharp.Column<int>("label")], properties);
            using (var group = writer.AppendRowGroup())
            {
                var labels = Enumerable.Range(0, rows).Select(row => (row + c) % 2).ToArray();
                using (var x = group.NextColumn().LogicalWriter<float>())
                {
                    x.WriteBatch([.. Enumerable.Range(0, rows).Select(row => XOf(c, row, labels[row]))]);
                }

                using (var y = group.NextColumn().LogicalWriter<float>())
                {
                    y.WriteBatch([.. Enumerable.Range(0, rows).Select(row => ((row % 7) * 0.25f) - labels[row])]);
                }

                using var label = group.NextColumn().LogicalWriter<int>();
                label.WriteBatch(labels);
            }

            writer.Close();
        }

        return paths;
    }

    /// <summary>Value <c>x</c> of a row of <see cref="WriteChecksummedDataset"/>: unique in the dataset, never a bound.</summary>
    public static float XOf(int chunk, int row, int label) => 1 + (chunk * 100_000) + (row * 2) + label;

    /// <summary>
    /// Flips the lowest bit of the one place <paramref name="value"/>'s four bytes stand in the file (a PLAIN page):
    /// the value moves by one unit in the last place, so it stays within its column's footer range.
    /// </summary>
    public static async Task FlipLowestBitOfValueAsync(string path, float value)
    {
        var bytes = await File.ReadAllBytesAsync(path);
        var pattern = BitConverter.GetBytes(value);
        var at = bytes.AsSpan().IndexOf(pattern);
        Assert.True(at >= 0 && bytes.AsSpan(at + 1).IndexOf(pattern) < 0, "the value stands in the file once");
        bytes[at] ^= 1;
        await File.WriteAllBytesAsync(path, bytes);
    }

    /// <summary>Asserts that the instance failed and that its failure message contains <paramref name="reason"/>.</summary>
    public static void AssertFailed(OrchestrationMetadata result, string reason)
    {
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.True(result.FailureDetails!.ErrorMessage.Contains(reason, StringComparison.Ordinal), result.FailureDetails.ErrorMessage);
    }
}
