using Workflows.Functions.Datasets;
using Workflows.Functions.Training;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Generation;
using Workflows.ML.Training;
using Workflows.Testing;
using Xunit;

namespace Workflows.Functions.Tests;

/// <summary>The training activities' read-ahead: same chunks in the same order, errors at their turn, nothing left running.</summary>
public sealed class TrainingReadAheadTests : IDisposable
{
    private const int Chunks = 6;
    private const int ChunkRows = 200;
    private readonly string _folder = Directory.CreateTempSubdirectory("workflows-readahead-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    public async Task ReadChunksAsync_AnyReadAhead_SameChunksInOrderAsOneAtATime(int readAhead)
    {
        var (reader, dataset, features) = await WriteDatasetAsync(TestStorage.Local);

        var sequential = await ReadAllAsync(reader, dataset, features, readAhead: 0);
        var ahead = await ReadAllAsync(reader, dataset, features, readAhead);

        Assert.Equal(Enumerable.Range(0, Chunks), sequential.Select(c => c.Index));
        Assert.Equal(sequential.Select(c => c.Index), ahead.Select(c => c.Index));
        for (var i = 0; i < Chunks; i++)
        {
            Assert.Equal(sequential[i].Features.ToArray(), ahead[i].Features.ToArray());
            Assert.Equal(sequential[i].Labels.ToArray(), ahead[i].Labels.ToArray());
        }
    }

    [Fact]
    public async Task ReadChunksAsync_CorruptChunkAhead_EarlierChunksArriveThenItsErrorAtItsTurn()
    {
        var (reader, dataset, features) = await WriteDatasetAsync(TestStorage.Local);
        await File.WriteAllBytesAsync(Path.Combine(_folder, GenerateDatasetChunkActivity.FileName(3)), new byte[64]);
        var arrived = new List<int>();

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var chunk in TrainingStorage.ReadChunksAsync(new DecodedChunkCache(0), _folder, reader, dataset, dataset.Chunks, features, readAhead: 4, CancellationToken.None))
            {
                arrived.Add(chunk.Index);
            }
        });

        Assert.Equal([0, 1, 2], arrived);
    }

    [Fact]
    public async Task ReadChunksAsync_CallerStopsEarly_ReadAheadsBlockedInStorageAreCancelled()
    {
        var blocked = new CountingDatasetStorage(
            (path, openedBefore) => openedBefore >= 1 && path.EndsWith(GenerateDatasetChunkActivity.FileName(2), StringComparison.Ordinal));
        var (reader, dataset, features) = await WriteDatasetAsync(blocked);

        await foreach (var chunk in TrainingStorage.ReadChunksAsync(new DecodedChunkCache(0), _folder, reader, dataset, dataset.Chunks, features, readAhead: 3, CancellationToken.None))
        {
            Assert.Equal(0, chunk.Index);
            await blocked.FirstHold;
            break;
        }

        // Leaving the loop returned, so the read held in storage was cancelled and awaited: chunk 2 was opened only
        // by DescribeAsync (its footer), never for its data.
        Assert.Equal(1, blocked.Opened(Path.Combine(_folder, GenerateDatasetChunkActivity.FileName(2))));
    }

    private async Task<(DatasetReader Reader, DatasetDescription Dataset, IReadOnlyList<DatasetColumn> Features)> WriteDatasetAsync(IDatasetStorage storage)
    {
        var generator = new ClassificationGenerator(new GenerateDatasetInput(Chunks * ChunkRows, 5, 2, ChunkRows, 11, _folder).ToSpec());
        for (var chunk = 0; chunk < Chunks; chunk++)
        {
            await TestData.WriteParquetChunkAsync(generator, chunk, ChunkRows, Path.Combine(_folder, GenerateDatasetChunkActivity.FileName(chunk)));
        }

        var reader = new DatasetReader(storage);
        var dataset = await reader.DescribeAsync(new DatasetSpec(_folder, ClassificationGenerator.LabelColumnName), CancellationToken.None);
        return (reader, dataset, DatasetReader.ResolveColumns(dataset, null));
    }

    private async Task<List<TrainingChunk>> ReadAllAsync(DatasetReader reader, DatasetDescription dataset, IReadOnlyList<DatasetColumn> features, int readAhead)
    {
        var chunks = new List<TrainingChunk>();
        await foreach (var chunk in TrainingStorage.ReadChunksAsync(new DecodedChunkCache(0), _folder, reader, dataset, dataset.Chunks, features, readAhead, CancellationToken.None))
        {
            chunks.Add(chunk);
        }

        return chunks;
    }
}
