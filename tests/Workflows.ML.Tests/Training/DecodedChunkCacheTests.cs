using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Training;

public sealed class DecodedChunkCacheTests
{
    [Fact]
    public void Add_OverBudget_EvictsLeastRecentlyUsedFirst()
    {
        var chunk = Chunk(0, rows: 10);
        var cache = new DecodedChunkCache(DecodedChunkCache.SizeOf(chunk) * 2);
        cache.Add("a", chunk);
        cache.Add("b", Chunk(1, rows: 10));
        Assert.True(cache.TryGet("a", out _));

        cache.Add("c", Chunk(2, rows: 10));

        Assert.True(cache.TryGet("a", out var a));
        Assert.Same(chunk, a);
        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("c", out _));
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

        Assert.False(cache.TryGet("big", out _));
        Assert.True(cache.TryGet("small", out _));
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

    private static TrainingChunk Chunk(int index, int rows) => new(index, new float[rows * 3], new int[rows], rows);
}
