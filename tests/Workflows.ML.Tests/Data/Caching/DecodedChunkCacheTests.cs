using Workflows.ML.Data.Caching;
using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Data.Caching;

public sealed class DecodedChunkCacheTests
{
    [Fact]
    public void Add_OverBudget_EvictsLeastRecentlyUsedFirst()
    {
        var chunk = Chunk(0, rows: 10);
        var cache = new DecodedChunkCache(DecodedChunkCache.SizeOf(chunk) * 2);
        cache.Add("a", chunk);
        cache.Add("b", Chunk(1, rows: 10));
        Assert.True(cache.TryGet<TrainingChunk>("a", out _));

        cache.Add("c", Chunk(2, rows: 10));

        Assert.True(cache.TryGet<TrainingChunk>("a", out var a));
        Assert.Same(chunk, a);
        Assert.False(cache.TryGet<TrainingChunk>("b", out _));
        Assert.True(cache.TryGet<TrainingChunk>("c", out _));
        Assert.Equal(2, cache.Count);
        Assert.Equal(DecodedChunkCache.SizeOf(chunk) * 2, cache.CachedBytes);
    }

    [Fact]
    public void Add_ChunkLargerThanBudget_IsNotCachedAndEvictsNothing()
    {
        var small = Chunk(0, rows: 1);
        var cache = new DecodedChunkCache(DecodedChunkCache.SizeOf(small) + 100);
        cache.Add("small", small);

        cache.Add("big", Chunk(1, rows: 1_000));

        Assert.False(cache.TryGet<TrainingChunk>("big", out _));
        Assert.True(cache.TryGet<TrainingChunk>("small", out _));
    }

    [Fact]
    public void Add_SameKeyTwice_CountsItsBytesOnce()
    {
        var cache = new DecodedChunkCache(1 << 20);
        cache.Add("a", Chunk(0, rows: 10));

        cache.Add("a", Chunk(0, rows: 20));

        Assert.Equal(1, cache.Count);
        Assert.Equal(DecodedChunkCache.SizeOf(Chunk(0, rows: 20)), cache.CachedBytes);
    }

    [Fact]
    public async Task GetOrLoadAsync_SecondCall_ReturnsCachedChunkWithoutLoading()
    {
        var cache = new DecodedChunkCache(1 << 20);
        var loads = 0;
        Task<TrainingChunk> Load(CancellationToken token)
        {
            loads++;
            return Task.FromResult(Chunk(3, rows: 5));
        }

        var first = await cache.GetOrLoadAsync("k", Load, CancellationToken.None);
        var second = await cache.GetOrLoadAsync("k", Load, CancellationToken.None);

        Assert.Same(first, second);
        Assert.Equal(1, loads);
        Assert.Equal(1, cache.Hits);
        Assert.Equal(1, cache.Misses);
    }

    [Fact]
    public async Task GetOrLoadAsync_ZeroBudget_LoadsEveryTime()
    {
        var cache = new DecodedChunkCache(0);
        var loads = 0;

        for (var i = 0; i < 3; i++)
        {
            await cache.GetOrLoadAsync("k", _ => Task.FromResult(Chunk(loads++, rows: 2)), CancellationToken.None);
        }

        Assert.Equal(3, loads);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void TryAdmit_ScanFillsBudget_KeepsItsFirstChunksAndRefusesTheRest()
    {
        var cache = new DecodedChunkCache(300);

        var admitted = Enumerable.Range(0, 5).Select(i => cache.TryAdmit($"k{i}", new object(), 100, "scan")).ToArray();

        // A scan never evicts its own chunks: the first three stay for the next pass, the rest are refused.
        Assert.Equal([true, true, true, false, false], admitted);
        Assert.False(cache.WouldAdmit(1, "scan"));
        Assert.True(cache.WouldAdmit(300, "another scan"));
        Assert.False(cache.WouldAdmit(301, "another scan"));
        Assert.Equal(300, cache.CachedBytes);
        Assert.True(cache.TryTake<object>("k0", out _));
        Assert.False(cache.TryTake<object>("k3", out _));
    }

    [Fact]
    public void TryAdmit_FullOfOtherEntries_EvictsOtherScansAndTrainingChunksLeastRecentlyUsedFirst()
    {
        var training = Chunk(0, rows: 1);
        var size = DecodedChunkCache.SizeOf(training);
        var cache = new DecodedChunkCache(3 * size);
        cache.Add("training", training);
        Assert.True(cache.TryAdmit("old-1", new object(), size, "old scan"));
        Assert.True(cache.TryAdmit("old-2", new object(), size, "old scan"));
        Assert.True(cache.TryGet<TrainingChunk>("training", out _));

        Assert.True(cache.TryAdmit("new-1", new object(), size, "new scan"));
        Assert.True(cache.TryAdmit("new-2", new object(), 2 * size, "new scan"));

        // old-1 went first (least recently used), then old-2 and the training chunk; new-1 was never a candidate.
        Assert.False(cache.TryTake<object>("old-1", out _));
        Assert.False(cache.TryTake<object>("old-2", out _));
        Assert.False(cache.TryGet<TrainingChunk>("training", out _));
        Assert.True(cache.TryTake<object>("new-1", out _));
        Assert.True(cache.TryTake<object>("new-2", out _));
    }

    [Fact]
    public void TryAdmit_OwnScanAloneWouldNotFit_EvictsNothing()
    {
        var cache = new DecodedChunkCache(300);
        Assert.True(cache.TryAdmit("mine", new object(), 200, "scan"));
        Assert.True(cache.TryAdmit("other", new object(), 100, "other scan"));

        Assert.False(cache.TryAdmit("mine-2", new object(), 150, "scan"));

        // Evicting "other" would not have made room: it stays.
        Assert.True(cache.TryTake<object>("other", out _));
        Assert.True(cache.TryTake<object>("mine", out _));
    }

    [Fact]
    public void TryTake_Hit_RemovesTheEntryAndFreesItsBytes()
    {
        var cache = new DecodedChunkCache(1_000);
        var value = new object();
        Assert.True(cache.TryAdmit("k", value, 400, "scan"));

        Assert.True(cache.TryTake<object>("k", out var taken));

        Assert.Same(value, taken);
        Assert.Equal(0, cache.CachedBytes);
        Assert.Equal(0, cache.Count);
        Assert.False(cache.TryTake<object>("k", out _));
        Assert.Equal(1, cache.Hits);
        Assert.Equal(1, cache.Misses);
    }

    [Fact]
    public void TryTake_ValueOfAnotherType_Misses()
    {
        var cache = new DecodedChunkCache(1 << 20);
        cache.Add("k", Chunk(0, rows: 2));

        Assert.False(cache.TryTake<string>("k", out _));
        Assert.True(cache.TryGet<TrainingChunk>("k", out _));
    }

    [Fact]
    public void RentBuffer_AfterReturn_ReusesTheSmallestThatFitsAndGivesWayToChunks()
    {
        var cache = new DecodedChunkCache(10_000);
        var small = cache.RentBuffer(100);
        var large = cache.RentBuffer(1_000);
        cache.ReturnBuffer(large);
        cache.ReturnBuffer(small);
        Assert.Equal((100 + 1_000) * sizeof(float) + 512, cache.PooledBytes);

        Assert.Same(small, cache.RentBuffer(50));
        Assert.Same(large, cache.RentBuffer(500));
        Assert.NotSame(large, cache.RentBuffer(500));
        Assert.Equal(0, cache.PooledBytes);

        // A pooled buffer is dropped to admit a chunk rather than the chunk refused.
        cache.ReturnBuffer(large);
        Assert.True(cache.TryAdmit("k", new object(), 8_000, "scan"));
        Assert.Equal(0, cache.PooledBytes);
        Assert.Equal(8_000, cache.CachedBytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void CacheOperations_AnyMixAndOrder_NeverExceedTheBudget(int seed)
    {
        const long budget = 10_000;
        var cache = new DecodedChunkCache(budget);
        var random = new Random(seed);
        var rented = new List<float[]>();
        for (var step = 0; step < 5_000; step++)
        {
            var key = "k" + random.Next(40);
            switch (random.Next(6))
            {
                case 4:
                    rented.Add(cache.RentBuffer(random.Next(0, 700)));
                    break;
                case 5 when rented.Count > 0:
                    cache.ReturnBuffer(rented[^1]);
                    rented.RemoveAt(rented.Count - 1);
                    break;
                case 0:
                    var chunk = Chunk(0, rows: random.Next(1, 400));
                    cache.Add(key, chunk);
                    break;
                case 1:
                    cache.TryAdmit(key, new object(), random.Next(0, 3_000), "scan" + random.Next(3));
                    break;
                case 2:
                    cache.TryTake<object>(key, out _);
                    break;
                default:
                    cache.TryGet<TrainingChunk>(key, out _);
                    break;
            }

            Assert.InRange(cache.CachedBytes, 0, budget);
            Assert.InRange(cache.PooledBytes, 0, budget - cache.CachedBytes);
            Assert.InRange(cache.Count, 0, 40);
        }

        Assert.True(cache.Hits > 0);
    }

    private static TrainingChunk Chunk(int index, int rows) => new(index, new float[rows * 3], new int[rows], rows);
}
