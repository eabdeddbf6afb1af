using System.Globalization;
using Microsoft.Extensions.Logging;
using Parquet;
using Parquet.Data;
using Parquet.Schema;
using Workflows.ML.Data;
using Workflows.ML.Generation;
using Workflows.Testing;
using Xunit;

namespace Workflows.ML.Tests;

/// <summary>Column ranges from the Parquet footers: exact where the writer states them, null wherever they cannot be trusted.</summary>
public sealed class FooterRangesTests
{
    private static readonly DatasetReader Reader = new(TestStorage.Local);

    [Fact]
    public async Task DescribeWithFooterRangesAsync_GeneratedParquet_RangesAreTheTrueMinAndMaxPerChunkAndMerged()
    {
        using var temp = new TempFolder();
        var generator = await TestDatasets.WriteParquetFolderAsync(temp.Path, new ClassificationSpec(Features: 5, Informative: 2, Redundant: 1, Seed: 4), chunks: 4, rowsPerChunk: 300);

        var (dataset, ranges) = await Reader.DescribeWithFooterRangesAsync(new DatasetSpec(temp.Path, "label"), CancellationToken.None);

        Assert.Equal(4, ranges.ChunkCount);
        var described = await Reader.DescribeAsync(new DatasetSpec(temp.Path, "label"), CancellationToken.None);
        Assert.Equal(described.Columns, dataset.Columns);
        Assert.Equal(described.Chunks, dataset.Chunks);
        var chunks = Enumerable.Range(0, 4).Select(c => generator.GenerateChunk(c, 300)).ToList();
        foreach (var subset in new[] { null, new[] { 2 }, new[] { 3, 0 } })
        {
            var merged = ranges.Merge(subset, dataset.Columns);
            Assert.Equal(dataset.Columns.Count, merged.Count);
            for (var column = 0; column < dataset.Columns.Count; column++)
            {
                var values = (subset ?? [0, 1, 2, 3]).SelectMany(c => chunks[c].Features[column]).ToArray();
                Assert.Equal(new ColumnRange(values.Min(), values.Max()), merged[column]);
            }
        }

        // Columns in another order, and a column the table does not know, are answered per column.
        var reordered = ranges.Merge(null, [dataset.Columns[3], new DatasetColumn("nope", ColumnType.Float32), dataset.Columns[0]]);
        Assert.Equal(ranges.Merge(null, dataset.Columns)[3], reordered[0]);
        Assert.Null(reordered[1]);
        Assert.Equal(ranges.Merge(null, dataset.Columns)[0], reordered[2]);
    }

    [Fact]
    public async Task DescribeWithFooterRangesAsync_NullableAndIntegerColumns_RangesOfTheValuesPresent()
    {
        using var temp = new TempFolder();
        var path = temp.File("nullable.parquet");
        var n = new DataField<float?>("n");
        var i = new DataField<int>("i");
        var l = new DataField<long>("l");
        var d = new DataField<double?>("d");
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(n, i, l, d), stream))
        {
            using (var group = writer.CreateRowGroup())
            {
                await group.WriteAsync<float>(n, new float?[] { null, 2.5f, 1.25f, null }.AsMemory(), null, null, CancellationToken.None);
                await group.WriteAsync<int>(i, new[] { 7, -3, 12, 0 }.AsMemory(), null, null, CancellationToken.None);
                await group.WriteAsync<long>(l, new[] { 1L << 40, 5, -9, 3 }.AsMemory(), null, null, CancellationToken.None);
                await group.WriteAsync<double>(d, new double?[] { null, null, null, null }.AsMemory(), null, null, CancellationToken.None);
            }

            using (var group = writer.CreateRowGroup())
            {
                await group.WriteAsync<float>(n, new float?[] { 8f, null }.AsMemory(), null, null, CancellationToken.None);
                await group.WriteAsync<int>(i, new[] { 100, 99 }.AsMemory(), null, null, CancellationToken.None);
                await group.WriteAsync<long>(l, new[] { 2L, 2 }.AsMemory(), null, null, CancellationToken.None);
                await group.WriteAsync<double>(d, new double?[] { 0.5, null }.AsMemory(), null, null, CancellationToken.None);
            }
        }

        var (dataset, ranges) = await Reader.DescribeWithFooterRangesAsync(new DatasetSpec(path), CancellationToken.None);

        Assert.Equal([new ColumnRange(1.25, 2.5), new ColumnRange(-3, 12), new ColumnRange(-9, 1L << 40), null], ranges.Merge([0], dataset.Columns));
        Assert.Equal(new ColumnRange(1.25, 8), ranges.Merge(null, dataset.Columns)[0]);
        Assert.Equal(new ColumnRange(-3, 100), ranges.Merge(null, dataset.Columns)[1]);

        // The all-null chunk has no range (Parquet.Net states 0..0 for it), so no merge that includes it has one.
        Assert.Equal(new ColumnRange(0.5, 0.5), ranges.Merge([1], dataset.Columns)[3]);
        Assert.Null(ranges.Merge(null, dataset.Columns)[3]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(5)]
    public async Task DescribeWithFooterRangesAsync_ColumnWithNaN_NeverANaNOrInfiniteRange(int nanAt)
    {
        using var temp = new TempFolder();
        var path = temp.File("nan.parquet");
        var values = new float[] { 3f, -2f, 7.5f, 1f, 0.25f, 4f };
        values[nanAt] = float.NaN;
        var x = new DataField<float>("x");
        var y = new DataField<double>("y");
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(x, y), stream))
        using (var group = writer.CreateRowGroup())
        {
            await group.WriteAsync<float>(x, values.AsMemory(), null, null, CancellationToken.None);
            await group.WriteAsync<double>(y, new[] { 1.0, double.PositiveInfinity, -4, 2, double.NaN, 0 }.AsMemory(), null, null, CancellationToken.None);
        }

        var (dataset, ranges) = await Reader.DescribeWithFooterRangesAsync(new DatasetSpec(path), CancellationToken.None);
        var merged = ranges.Merge(null, dataset.Columns);

        // Parquet.Net 6.1 skips a NaN when it computes the bounds, except a leading one, which makes both bounds NaN:
        // the range is then null. Never NaN or infinite (the float64 column holds an infinity), and when there is one it
        // is the range of the other values. The statistics do not rely on it anyway: they check it against the values.
        var others = values.Where(v => !float.IsNaN(v)).ToArray();
        Assert.Equal(nanAt == 0 ? null : new ColumnRange(others.Min(), others.Max()), merged[0]);
        Assert.Null(merged[1]);
        var stated = await StatisticsAsync(path, x);
        Assert.Equal(nanAt == 0, float.IsNaN((float)stated!.MinValue!));
    }

    [Fact]
    public async Task DescribeWithFooterRangesAsync_StatisticsTheLibraryCannotDecode_NoRangeForThatColumnAndOneWarning()
    {
        using var temp = new TempFolder();
        var path = temp.File("odd-statistics.parquet");
        var x = new DataField<float>("x");
        var y = new DataField<double>("y");
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(x, y), stream))
        using (var group = writer.CreateRowGroup())
        {
            await group.WriteAsync<float>(x, new[] { 1234.5f, 2000.25f, 1500f }.AsMemory(), null, null, CancellationToken.None);
            await group.WriteAsync<double>(y, new[] { 1.0, -4, 2 }.AsMemory(), null, null, CancellationToken.None);
        }

        // Another writer's encoding the library cannot decode: x's minimum stated in three bytes instead of a float's four.
        await File.WriteAllBytesAsync(path, ShortenFooterBinary(await File.ReadAllBytesAsync(path), BitConverter.GetBytes(1234.5f)));
        var logger = new RecordingLogger();

        var (dataset, ranges) = await new DatasetReader(TestStorage.Local, logger).DescribeWithFooterRangesAsync(new DatasetSpec(path), CancellationToken.None);

        Assert.Equal([null, new ColumnRange(-4, 2)], ranges.Merge(null, dataset.Columns));
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.NotNull(entry.Exception);
        Assert.Contains(path, entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeWithFooterRangesAsync_Csv_EveryRangeIsNull()
    {
        using var temp = new TempFolder();
        var path = temp.File("data.csv");
        await File.WriteAllTextAsync(path, "x,y\n1,2\n3,4\n5,6\n");

        var (dataset, ranges) = await Reader.DescribeWithFooterRangesAsync(new DatasetSpec(path, CsvChunkRows: 2), CancellationToken.None);

        Assert.Equal(2, ranges.ChunkCount);
        Assert.Equal([null, null], ranges.Merge(null, dataset.Columns));
        Assert.Equal([null, null], ranges.Merge([1], dataset.Columns));
    }

    [Theory]
    [InlineData(null, null, null)]
    [InlineData(1f, float.NaN, null)]
    [InlineData(double.NegativeInfinity, 2.0, null)]
    [InlineData(3, 2, null)]
    [InlineData("a", "b", null)]
    [InlineData(-2, 5L, "-2..5")]
    [InlineData(0.5f, 0.75, "0.5..0.75")]
    public void RangeOf_FooterStatistics_OnlyFiniteOrderedNumericBounds(object? min, object? max, string? expected)
    {
        var range = FooterRanges.RangeOf(new DataColumnStatistics(1, null, min, max), rows: 10);

        Assert.Equal(expected, range is null ? null : string.Create(CultureInfo.InvariantCulture, $"{range.Min}..{range.Max}"));
        Assert.Null(FooterRanges.RangeOf(null, rows: 10));
        Assert.Null(FooterRanges.RangeOf(new DataColumnStatistics(10, null, min, max), rows: 10));
        Assert.Null(FooterRanges.RangeOf(new DataColumnStatistics(0, null, min, max), rows: 0));
    }

    private static async Task<DataColumnStatistics?> StatisticsAsync(string path, DataField field)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        using var group = reader.OpenRowGroupReader(0);
        return group.GetStatistics(reader.Schema.GetDataFields().Single(f => f.Name == field.Name));
    }

    /// <summary>
    /// <paramref name="file"/> with every footer binary that holds exactly <paramref name="value"/> (Thrift compact: a
    /// length byte, then the bytes) cut to its first bytes but one, and the footer length adjusted.
    /// </summary>
    private static byte[] ShortenFooterBinary(byte[] file, byte[] value)
    {
        var footerLength = BitConverter.ToInt32(file, file.Length - 8);
        var footerStart = file.Length - 8 - footerLength;
        var result = new List<byte>(file[..footerStart]);
        var cut = 0;
        for (var i = footerStart; i < file.Length - 8; i++)
        {
            if (file[i] == value.Length && i + 1 + value.Length <= file.Length - 8 && file.AsSpan(i + 1, value.Length).SequenceEqual(value))
            {
                result.Add((byte)(value.Length - 1));
                result.AddRange(value[..^1]);
                i += value.Length;
                cut++;
                continue;
            }

            result.Add(file[i]);
        }

        Assert.True(cut > 0, "the value is not in the footer.");
        result.AddRange(BitConverter.GetBytes(footerLength - cut));
        result.AddRange(file[^4..]);
        return [.. result];
    }
}
