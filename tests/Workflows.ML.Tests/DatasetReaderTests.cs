using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;
using Workflows.ML.Data;
using Workflows.ML.Generation;
using Workflows.Testing;
using Xunit;

namespace Workflows.ML.Tests;

public sealed class DatasetReaderTests
{
    private static readonly DatasetReader Reader = new(TestStorage.Local);

    [Theory]
    [InlineData(ParquetCompression.Snappy)]
    [InlineData(ParquetCompression.ZstdFastest)]
    public async Task ReadChunkAsync_ParquetFolder_ReturnsWrittenRowsPerFile(ParquetCompression compression)
    {
        using var temp = new TempFolder();
        var generator = await TestDatasets.WriteParquetFolderAsync(temp.Path, new ClassificationSpec(Features: 6, Informative: 3, Redundant: 1, Seed: 3), chunks: 3, rowsPerChunk: 200, compression);

        var dataset = await Reader.DescribeAsync(new DatasetSpec(temp.Path, "label"), CancellationToken.None);
        var chunk = await Reader.ReadChunkAsync(dataset, dataset.Chunks[2], null, CancellationToken.None);

        Assert.Equal(DatasetFormat.Parquet, dataset.Format);
        Assert.Equal(3, dataset.Chunks.Count);
        Assert.Equal(600, dataset.RowCount);
        Assert.Equal(generator.ColumnNames, dataset.Columns.Select(c => c.Name));
        Assert.All(dataset.Columns, c => Assert.Equal(ColumnType.Float32, c.Type));
        var expected = generator.GenerateChunk(2, 200);
        Assert.Equal(expected.Features[4], chunk.Columns[4].Float32Values.ToArray());
        Assert.Equal(expected.Labels.Select(l => (double)l), chunk.Label!.Float64Values.ToArray());
    }

    [Fact]
    public async Task DescribeAsync_ParquetFileWithRowGroups_MakesOneChunkPerRowGroup()
    {
        using var temp = new TempFolder();
        var path = temp.File("mixed.parquet");
        await WriteMixedParquetAsync(path);

        var dataset = await Reader.DescribeAsync(new DatasetSpec(path, "y"), CancellationToken.None);
        var second = await Reader.ReadChunkAsync(dataset, dataset.Chunks[1], null, CancellationToken.None);

        Assert.Equal(2, dataset.Chunks.Count);
        Assert.Equal([new DatasetColumn("d", ColumnType.Float64), new DatasetColumn("i", ColumnType.Int32), new DatasetColumn("n", ColumnType.Float32)], dataset.Columns);
        Assert.Equal(["s"], dataset.NonNumericColumns);
        Assert.Equal([4.5, 5.5], second.Columns[0].Float64Values.ToArray());
        Assert.Equal([40.0, 50.0], second.Columns[1].Float64Values.ToArray());
        Assert.True(float.IsNaN(second.Columns[2].Float32Values[1]), "a null float32 reads as NaN");
        Assert.Equal([1.0, 0.0], second.Label!.Float64Values.ToArray());
    }

    [Fact]
    public async Task ResolveColumns_StringColumn_ThrowsNotNumeric()
    {
        using var temp = new TempFolder();
        var path = temp.File("mixed.parquet");
        await WriteMixedParquetAsync(path);
        var dataset = await Reader.DescribeAsync(new DatasetSpec(path), CancellationToken.None);

        var error = Assert.Throws<DatasetException>(() => DatasetReader.ResolveColumns(dataset, ["d", "s"]));
        var missing = Assert.Throws<DatasetException>(() => DatasetReader.ResolveColumns(dataset, ["nope"]));

        Assert.Contains("column 's'", error.Message, StringComparison.Ordinal);
        Assert.Contains("is not numeric", error.Message, StringComparison.Ordinal);
        Assert.Contains("has no column 'nope'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("asked for twice", Assert.Throws<DatasetException>(() => DatasetReader.ResolveColumns(dataset, ["d", "d"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadChunkAsync_CsvWithoutFinalNewlineAndBlankLines_ReadsEveryRow()
    {
        using var temp = new TempFolder();
        var path = temp.File("data.csv");
        await File.WriteAllTextAsync(path, "x,y\n1,2\n\n3,4\r\n5, 6");

        var dataset = await Reader.DescribeAsync(new DatasetSpec(path, "y", CsvChunkRows: 2), CancellationToken.None);
        var first = await Reader.ReadChunkAsync(dataset, dataset.Chunks[0], null, CancellationToken.None);
        var second = await Reader.ReadChunkAsync(dataset, dataset.Chunks[1], null, CancellationToken.None);

        Assert.Equal([2L, 1L], dataset.Chunks.Select(c => c.Rows));
        Assert.Equal([1.0, 3.0], first.Columns[0].Float64Values.ToArray());
        Assert.Equal([5.0], second.Columns[0].Float64Values.ToArray());
        Assert.Equal([6.0], second.Label!.Float64Values.ToArray());
    }

    [Fact]
    public async Task ReadChunkAsync_CsvChunkedByRows_ReturnsRowsOfThatChunk()
    {
        using var temp = new TempFolder();
        var path = temp.File("data.csv");
        var text = new StringBuilder("a,b,label\r\n");
        for (var i = 0; i < 25; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{i},{(i == 21 ? string.Empty : (i * 0.5).ToString(CultureInfo.InvariantCulture))},{i % 2}\r\n");
        }

        await File.WriteAllTextAsync(path, text.ToString());

        var dataset = await Reader.DescribeAsync(new DatasetSpec(path, "label", CsvChunkRows: 10), CancellationToken.None);
        var last = await Reader.ReadChunkAsync(dataset, dataset.Chunks[2], null, CancellationToken.None);

        Assert.Equal([10L, 10L, 5L], dataset.Chunks.Select(c => c.Rows));
        Assert.Equal(["a", "b"], dataset.Columns.Select(c => c.Name));
        Assert.Equal([20.0, 21, 22, 23, 24], last.Columns[0].Float64Values.ToArray());
        Assert.True(double.IsNaN(last.Columns[1][1]), "an empty CSV cell reads as missing");
        Assert.Equal([0.0, 1, 0, 1, 0], last.Label!.Float64Values.ToArray());
    }

    [Fact]
    public async Task ReadChunkAsync_CsvWithText_ThrowsNamingColumnAndRowButNotTheCell()
    {
        using var temp = new TempFolder();
        var path = temp.File("data.csv");
        await File.WriteAllTextAsync(path, "a,b\n1,2\n3,oops\n");
        var dataset = await Reader.DescribeAsync(new DatasetSpec(path), CancellationToken.None);

        var error = await Assert.ThrowsAsync<DatasetException>(() => Reader.ReadChunkAsync(dataset, dataset.Chunks[0], null, CancellationToken.None));

        Assert.Contains("column 'b' is not numeric", error.Message, StringComparison.Ordinal);
        Assert.Contains("row 1", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("oops", error.Message, StringComparison.Ordinal); // the file's contents are never quoted
    }

    [Fact]
    public async Task ReadChunkAsync_ColumnCallback_GetsEachColumnInOrderAndItsOwnErrorsUnwrapped()
    {
        using var temp = new TempFolder();
        await TestDatasets.WriteParquetFolderAsync(temp.Path, new ClassificationSpec(Features: 3, Informative: 2, Redundant: 0), chunks: 1, rowsPerChunk: 50);
        var dataset = await Reader.DescribeAsync(new DatasetSpec(temp.Path, "label"), CancellationToken.None);
        var seen = new List<(int Index, string Name)>();

        var chunk = await Reader.ReadChunkAsync(dataset, dataset.Chunks[0], null, (i, column) => seen.Add((i, column.Name)), CancellationToken.None);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => Reader.ReadChunkAsync(dataset, dataset.Chunks[0], null, (_, _) => throw new InvalidOperationException("consumer bug"), CancellationToken.None));

        Assert.Equal([(0, "f0"), (1, "f1"), (2, "f2")], seen);
        Assert.Equal(3, chunk.Columns.Count);
        Assert.Equal("consumer bug", error.Message);
    }

    [Fact]
    public async Task DescribeAsync_MissingPath_ThrowsDoesNotExist()
    {
        var missing = "no-such-dataset-" + Guid.NewGuid().ToString("N");
        var error = await Assert.ThrowsAsync<DatasetException>(() => Reader.DescribeAsync(new DatasetSpec(missing), CancellationToken.None));

        Assert.Contains($"'{missing}' does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeAsync_EmptyFolder_ThrowsEmpty()
    {
        using var temp = new TempFolder();

        var error = await Assert.ThrowsAsync<DatasetException>(() => Reader.DescribeAsync(new DatasetSpec(temp.Path), CancellationToken.None));

        Assert.Contains("is empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeAsync_MissingLabelColumn_ThrowsNamingIt()
    {
        using var temp = new TempFolder();
        await TestDatasets.WriteParquetFolderAsync(temp.Path, new ClassificationSpec(Features: 4), chunks: 1, rowsPerChunk: 10);

        var error = await Assert.ThrowsAsync<DatasetException>(() => Reader.DescribeAsync(new DatasetSpec(temp.Path, "target"), CancellationToken.None));

        Assert.Contains("no label column 'target'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadChunkAsync_CorruptRowGroup_ThrowsNamingRowGroupAndFile()
    {
        using var temp = new TempFolder();
        await TestDatasets.WriteParquetFolderAsync(temp.Path, new ClassificationSpec(Features: 4), chunks: 2, rowsPerChunk: 500);
        var dataset = await Reader.DescribeAsync(new DatasetSpec(temp.Path), CancellationToken.None);
        var file = dataset.Chunks[1].File;
        var bytes = await File.ReadAllBytesAsync(TestStorage.FullPath(file));
        // The column pages sit right after the 4-byte magic; the footer (schema, row-group index) stays intact.
        Array.Fill(bytes, (byte)0xA5, 4, bytes.Length / 2);
        await File.WriteAllBytesAsync(TestStorage.FullPath(file), bytes);

        var error = await Assert.ThrowsAsync<DatasetException>(() => Reader.ReadChunkAsync(dataset, dataset.Chunks[1], null, CancellationToken.None));

        // The page walk of the checksum check meets the damaged header of the first column's first page.
        Assert.Contains($"chunk 1: column 'f0' of row group 0 of '{file}' has an unreadable page header: page 0 (header at byte 4)", error.Message, StringComparison.Ordinal);
        Assert.Contains("the file is corrupt", error.Message, StringComparison.Ordinal);
    }

    private static async Task WriteMixedParquetAsync(string path)
    {
        var d = new DataField<double>("d");
        var i = new DataField<int>("i");
        var n = new DataField<float?>("n");
        var s = new DataField<string>("s");
        var y = new DataField<int>("y");
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(d, i, n, s, y), stream);
        await WriteGroupAsync(writer, [1.5, 2.5, 3.5], [10, 20, 30], [1f, 2f, 3f], ["x", "y", "z"], [0, 1, 0]);
        await WriteGroupAsync(writer, [4.5, 5.5], [40, 50], [4f, null], ["u", "v"], [1, 0]);

        async Task WriteGroupAsync(ParquetWriter w, double[] dv, int[] iv, float?[] nv, string[] sv, int[] yv)
        {
            using var group = w.CreateRowGroup();
            await group.WriteAsync<double>(d, dv.AsMemory(), null, null, CancellationToken.None);
            await group.WriteAsync<int>(i, iv.AsMemory(), null, null, CancellationToken.None);
            await group.WriteAsync<float>(n, nv.AsMemory(), null, null, CancellationToken.None);
            await group.WriteAsync(s, sv, null);
            await group.WriteAsync<int>(y, yv.AsMemory(), null, null, CancellationToken.None);
        }
    }
}
