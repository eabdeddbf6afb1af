using ParquetSharp;
using Workflows.ML.Data;
using Workflows.Testing;
using Xunit;

namespace Workflows.ML.Tests.Data;

/// <summary>
/// Page checksums as the reader verifies them, on files Apache Arrow's writer (ParquetSharp) writes with a CRC-32 in
/// every page header (Parquet.Net writes none): an intact file reads; a byte flipped anywhere in a page's bytes
/// (dictionary page, first, middle and last data page; v1 and v2 pages; Snappy and uncompressed) fails naming the
/// file, row group, column and page; a file without checksums reads; a garbled or truncated page header fails naming
/// them too, as a <see cref="DatasetException"/>.
/// </summary>
public sealed class PageChecksumTests
{
    private const int Rows = 3_000;

    private static readonly DatasetReader Reader = new(TestStorage.Local);

    public enum Page
    {
        First,
        Middle,
        Last,
    }

    [Theory]
    [InlineData(ParquetDataPageVersion.V1, Compression.Snappy)]
    [InlineData(ParquetDataPageVersion.V2, Compression.Snappy)]
    [InlineData(ParquetDataPageVersion.V1, Compression.Uncompressed)]
    public async Task FileWithPageChecksums_Intact_ReadsTheValuesWritten(ParquetDataPageVersion version, Compression compression)
    {
        using var temp = new TempFolder();
        var path = temp.File("crc.parquet");
        Write(path, checksums: true, version, compression);

        var dataset = await Reader.DescribeAsync(new DatasetSpec(path, "label"), CancellationToken.None);
        var chunk = await Reader.ReadChunkAsync(dataset, dataset.Chunks[1], null, CancellationToken.None);

        // The file is what the test needs: every page has a checksum, chunks of several pages, a dictionary page.
        var pages = await PagesAsync(path, rowGroup: 1, column: 1);
        Assert.True(pages.Count > 3, $"{pages.Count} pages");
        Assert.Equal(2, pages[0].Header.Type);
        for (var column = 0; column < 3; column++)
        {
            Assert.All(await PagesAsync(path, 1, column), p => Assert.NotNull(p.Header.Crc));
        }

        Assert.Equal(A(1), chunk.Columns[0].Float32Values.ToArray());
        Assert.Equal(B(1), chunk.Columns[1].Float64Values.ToArray());
        Assert.Equal(Label(1).Select(static l => (double)l), chunk.Label!.Float64Values.ToArray());
    }

    [Theory]
    [InlineData(1, Page.First, 0.0, ParquetDataPageVersion.V1, Compression.Snappy)]
    [InlineData(1, Page.First, 0.5, ParquetDataPageVersion.V1, Compression.Snappy)]
    [InlineData(1, Page.Middle, 0.0, ParquetDataPageVersion.V1, Compression.Snappy)]
    [InlineData(1, Page.Middle, 0.5, ParquetDataPageVersion.V1, Compression.Uncompressed)]
    [InlineData(1, Page.Last, 1.0, ParquetDataPageVersion.V1, Compression.Snappy)]
    [InlineData(0, Page.Middle, 0.3, ParquetDataPageVersion.V2, Compression.Snappy)]
    [InlineData(0, Page.Last, 0.0, ParquetDataPageVersion.V2, Compression.Uncompressed)]
    [InlineData(2, Page.Middle, 0.5, ParquetDataPageVersion.V1, Compression.Snappy)]
    public async Task FileWithPageChecksums_ByteFlippedInAPage_FailsNamingFileRowGroupColumnAndPage(
        int column, Page page, double at, ParquetDataPageVersion version, Compression compression)
    {
        using var temp = new TempFolder();
        var path = temp.File("crc.parquet");
        Write(path, checksums: true, version, compression);
        var pages = await PagesAsync(path, rowGroup: 1, column);
        var index = page switch { Page.First => 0, Page.Middle => pages.Count / 2, _ => pages.Count - 1 };
        var target = pages[index];
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[target.Offset + target.Header.Length + (long)(at * (target.Header.CompressedSize - 1))] ^= 0x10;
        await File.WriteAllBytesAsync(path, bytes);
        var dataset = await Reader.DescribeAsync(new DatasetSpec(path, "label"), CancellationToken.None);

        var error = await Assert.ThrowsAsync<DatasetException>(() => Reader.ReadChunkAsync(dataset, dataset.Chunks[1], null, CancellationToken.None));

        var name = new[] { "a", "b", "label" }[column];
        Assert.Contains($"chunk 1: column '{name}' of row group 1 of '{TestStorage.Root.Relative(path)}' has a page checksum mismatch", error.Message, StringComparison.Ordinal);
        Assert.Contains($"page {index} (header at byte {target.Offset})", error.Message, StringComparison.Ordinal);
        Assert.Contains("the file is corrupt", error.Message, StringComparison.Ordinal);

        // The other row group's pages are intact.
        await Reader.ReadChunkAsync(dataset, dataset.Chunks[0], null, CancellationToken.None);
    }

    [Fact]
    public async Task FileWithoutPageChecksums_Reads()
    {
        using var temp = new TempFolder();
        var path = temp.File("plain.parquet");
        Write(path, checksums: false, ParquetDataPageVersion.V1, Compression.Snappy);

        var dataset = await Reader.DescribeAsync(new DatasetSpec(path, "label"), CancellationToken.None);
        var chunk = await Reader.ReadChunkAsync(dataset, dataset.Chunks[1], null, CancellationToken.None);

        Assert.All(await PagesAsync(path, 1, 1), p => Assert.Null(p.Header.Crc));
        Assert.Equal(B(1), chunk.Columns[1].Float64Values.ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task GarbledPageHeader_FailsNamingFileRowGroupColumnAndPage(bool checksums)
    {
        using var temp = new TempFolder();
        var path = temp.File("garbled.parquet");
        Write(path, checksums, ParquetDataPageVersion.V1, Compression.Snappy);
        var target = (await PagesAsync(path, rowGroup: 1, column: 1))[1];
        var bytes = await File.ReadAllBytesAsync(path);

        // Field 15 of an unknown compact type.
        bytes[target.Offset] = 0xFF;
        await File.WriteAllBytesAsync(path, bytes);
        var dataset = await Reader.DescribeAsync(new DatasetSpec(path, "label"), CancellationToken.None);

        var error = await Assert.ThrowsAsync<DatasetException>(() => Reader.ReadChunkAsync(dataset, dataset.Chunks[1], null, CancellationToken.None));

        // A file that states checksums has its pages walked; in one that does not, Parquet.Net's decoder meets the damage.
        var expected = checksums
            ? $"column 'b' of row group 1 of '{TestStorage.Root.Relative(path)}' has an unreadable page header: page 1 (header at byte {target.Offset}) has a value of unknown compact type 15"
            : $"chunk 1 (row group 1 of '{TestStorage.Root.Relative(path)}'";
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PageHeaderRunningPastItsColumnChunk_FailsNamingFileRowGroupColumnAndPage(bool checksums)
    {
        using var temp = new TempFolder();
        var path = temp.File("truncated.parquet");
        Write(path, checksums, ParquetDataPageVersion.V1, Compression.Snappy);
        var pages = await PagesAsync(path, rowGroup: 1, column: 1);
        var target = pages[^1];
        var bytes = await File.ReadAllBytesAsync(path);

        // Field 1 as a binary of 2^31 - 1 bytes: the header cannot end within the column chunk.
        new byte[] { 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 }.CopyTo(bytes, target.Offset);
        await File.WriteAllBytesAsync(path, bytes);
        var dataset = await Reader.DescribeAsync(new DatasetSpec(path, "label"), CancellationToken.None);

        var error = await Assert.ThrowsAsync<DatasetException>(() => Reader.ReadChunkAsync(dataset, dataset.Chunks[1], null, CancellationToken.None));

        // A file that states checksums has its pages walked; in one that does not, Parquet.Net's decoder meets the damage.
        var expected = checksums
            ? $"column 'b' of row group 1 of '{TestStorage.Root.Relative(path)}' has an unreadable page header: page {pages.Count - 1} (header at byte {target.Offset}) runs past the end of the column chunk"
            : $"chunk 1 (row group 1 of '{TestStorage.Root.Relative(path)}'";
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    /// <summary>Two row groups of <see cref="Rows"/> rows: float a (distinct values), double b (few values: a dictionary), int label; small pages.</summary>
    private static void Write(string path, bool checksums, ParquetDataPageVersion version, Compression compression)
    {
        using var builder = new WriterPropertiesBuilder();
        builder.Compression(compression).DataPagesize(2_048).DataPageVersion(version);
        if (checksums)
        {
            builder.EnablePageChecksum();
        }
        else
        {
            builder.DisablePageChecksum();
        }

        using var properties = builder.Build();
        using var writer = new ParquetFileWriter(path, [new Column<float>("a"), new Column<double>("b"), new Column<int>("label")], properties);
        for (var group = 0; group < 2; group++)
        {
            using var rowGroup = writer.AppendRowGroup();
            using (var a = rowGroup.NextColumn().LogicalWriter<float>())
            {
                a.WriteBatch(A(group));
            }

            using (var b = rowGroup.NextColumn().LogicalWriter<double>())
            {
                b.WriteBatch(B(group));
            }

            using (var label = rowGroup.NextColumn().LogicalWriter<int>())
            {
                label.WriteBatch(Label(group));
            }
        }

        writer.Close();
    }

    private static float[] A(int group) => [.. Enumerable.Range(0, Rows).Select(i => (group * Rows) + (i * 0.37f))];

    private static double[] B(int group) => [.. Enumerable.Range(0, Rows).Select(i => group + ((i * 7919) % 997 * 0.25))];

    private static int[] Label(int group) => [.. Enumerable.Range(0, Rows).Select(i => (i + group) % 3)];

    /// <summary>Each page of a column chunk: where its header starts and what it states, walked from the footer's offsets.</summary>
    private static async Task<List<(long Offset, PageHeader Header)>> PagesAsync(string path, int rowGroup, int column)
    {
        Parquet.Meta.ColumnMetaData metadata;
        await using (var stream = File.OpenRead(path))
        await using (var reader = await Parquet.ParquetReader.CreateAsync(stream))
        {
            metadata = reader.Metadata!.RowGroups[rowGroup].Columns[column].MetaData!;
        }

        var start = metadata.DictionaryPageOffset ?? metadata.DataPageOffset;
        var end = start + metadata.TotalCompressedSize;
        var bytes = await File.ReadAllBytesAsync(path);
        var pages = new List<(long, PageHeader)>();
        for (var offset = start; offset < end; offset += pages[^1].Item2.Length + pages[^1].Item2.CompressedSize)
        {
            Assert.Equal(PageHeaderStatus.Complete, PageHeaderReader.TryRead(bytes.AsSpan((int)offset, (int)(end - offset)), out var header, out _));
            pages.Add((offset, header));
        }

        return pages;
    }
}
