using Azure.Storage.Blobs;
using Workflows.ML.Data;
using Workflows.ML.Generation;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;
using Workflows.Testing;
using Xunit;

namespace Workflows.ML.AzureStorage.Tests;

/// <summary>Datasets in Blob storage, against Azurite (started by the fixture).</summary>
public sealed class BlobDatasetStorageTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task ReadChunkAsync_ParquetFolderInBlobs_ReturnsWrittenRowsAndStatistics()
    {
        var storage = NewStorage();
        var generator = new ClassificationGenerator(new ClassificationSpec(Features: 4, Informative: 2, Redundant: 0, Seed: 2));
        for (var c = 0; c < 3; c++)
        {
            var chunk = generator.GenerateChunk(c, 300);
            var bytes = await ParquetChunkWriter.EncodeAsync(generator.ColumnNames, chunk.Features, "label", chunk.Labels, ParquetCompression.ZstdFastest, CancellationToken.None);
            await storage.WriteAsync(storage.Combine("sets/a", $"part-{c:D5}.parquet"), bytes, CancellationToken.None);
        }

        var reader = new DatasetReader(storage);
        var dataset = await reader.DescribeAsync(new DatasetSpec("sets/a", "label"), CancellationToken.None);
        var second = await reader.ReadChunkAsync(dataset, dataset.Chunks[1], null, CancellationToken.None);
        var partial = await ChunkStatistics.ComputeMomentsAsync(
            new FirstPassRequest { Group = new ChunkGroup(reader, dataset, dataset.Chunks, dataset.Columns), Kernel = SimdStatisticsKernel.Instance }, CancellationToken.None);

        Assert.Equal(["sets/a/part-00000.parquet", "sets/a/part-00001.parquet", "sets/a/part-00002.parquet"], dataset.Chunks.Select(c => c.File));
        Assert.Equal(generator.GenerateChunk(1, 300).Features[3], second.Columns[3].Float32Values.ToArray());
        Assert.Equal(900, partial.Moments[0].Count);
    }

    [Fact]
    public async Task GetContentVersionAsync_BlobRewrittenWithTheSameBytes_ChangesAndNamesTheContainer()
    {
        var storage = NewStorage();
        var other = NewStorage();
        await storage.WriteAsync("sets/v/part-00000.parquet", new byte[] { 1, 2, 3 }, CancellationToken.None);
        await other.WriteAsync("sets/v/part-00000.parquet", new byte[] { 1, 2, 3 }, CancellationToken.None);
        var first = await storage.GetContentVersionAsync("sets/v/part-00000.parquet", CancellationToken.None);
        var again = await storage.GetContentVersionAsync("sets/v/part-00000.parquet", CancellationToken.None);

        await storage.WriteAsync("sets/v/part-00000.parquet", new byte[] { 1, 2, 3 }, CancellationToken.None);
        var rewritten = await storage.GetContentVersionAsync("sets/v/part-00000.parquet", CancellationToken.None);

        Assert.Equal(first, again);
        Assert.NotEqual(first, rewritten);
        Assert.NotEqual(first, await other.GetContentVersionAsync("sets/v/part-00000.parquet", CancellationToken.None));
        await Assert.ThrowsAsync<DatasetException>(() => storage.GetContentVersionAsync("sets/v/missing.parquet", CancellationToken.None));
    }

    [Fact]
    public async Task DescribeAsync_MissingPrefix_ThrowsDoesNotExist()
    {
        var storage = NewStorage();
        await storage.WriteAsync("other/x.parquet", new byte[] { 1 }, CancellationToken.None);

        var error = await Assert.ThrowsAsync<DatasetException>(() => new DatasetReader(storage).DescribeAsync(new DatasetSpec("sets/none"), CancellationToken.None));

        Assert.Contains("'sets/none' does not exist", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://otheraccount.blob.core.windows.net/data/sets/a", "not URIs or absolute paths")]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1/other/sets/a", "not URIs or absolute paths")]
    [InlineData("/other/sets/a", "not URIs or absolute paths")]
    [InlineData("sets/../../other/a", "'..' segments")]
    [InlineData("..\\other", "'..' segments")]
    [InlineData(" ", "a blob name in the dataset container is required")]
    public void ValidatePath_NameThatLeavesTheContainer_IsRefusedNamingFieldAndRule(string path, string rule)
    {
        var refused = Assert.Throws<DataPathException>(() => NewStorage().ValidatePath(path, "dataset"));

        Assert.Contains($"dataset '{path}' is refused", refused.Message, StringComparison.Ordinal);
        Assert.Contains(rule, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sets/a")]
    [InlineData("sets/a/part-00000.parquet")]
    [InlineData("%2e%2e/a")]
    public void ValidatePath_BlobNameOfTheContainer_IsAccepted(string path) => NewStorage().ValidatePath(path, "dataset");

    private BlobDatasetStorage NewStorage() =>
        new(new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("d" + Guid.NewGuid().ToString("N")[..20]));
}
