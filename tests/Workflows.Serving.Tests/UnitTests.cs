using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Workflows.Serving.Batching;
using Workflows.Serving.Caching;
using Workflows.Serving.Diagnostics;
using Workflows.Serving.Models;
using Workflows.Serving.Scoring;
using Workflows.Serving.Shadow;
using Workflows.ML.Registry;
using Xunit;

namespace Workflows.Serving.Tests;

/// <summary>The cache, the batcher, the windowed statistics and the shadow channel on their own, with a fake clock.</summary>
public sealed class UnitTests
{
    private static readonly ScoreResult Value = new(1, 1, [0.5f], null);

    [Fact]
    public void Cache_EvictsLeastRecentlyUsedFirst_AndAHitRefreshesRecency()
    {
        var clock = new FakeTimeProvider();
        var cache = new PredictionCache<ScoreResult>(3, long.MaxValue, TimeSpan.FromMinutes(1), clock);
        CacheKey Key(float x) => new("m", 1, [x]);

        cache.Set(Key(1), Value, Value.ByteSize);
        cache.Set(Key(2), Value, Value.ByteSize);
        cache.Set(Key(3), Value, Value.ByteSize);
        Assert.True(cache.TryGet(Key(1), out _)); // 1 is now the most recent; 2 the least
        cache.Set(Key(4), Value, Value.ByteSize);

        Assert.False(cache.TryGet(Key(2), out _));
        Assert.Equal([4f, 1f, 3f], cache.KeysByRecency().Select(k => k.Features[0]).ToArray());
        Assert.Equal(1, cache.Evictions);
    }

    [Fact]
    public void Cache_EntryPastItsTimeToLive_IsAMissAndIsRemoved()
    {
        var clock = new FakeTimeProvider();
        var cache = new PredictionCache<ScoreResult>(10, long.MaxValue, TimeSpan.FromSeconds(30), clock);
        var key = new CacheKey("m", 1, [1f, float.NaN]);
        cache.Set(key, Value, Value.ByteSize);

        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.True(cache.TryGet(new CacheKey("m", 1, [1f, float.NaN]), out _));
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.False(cache.TryGet(key, out _));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public void Cache_MemoryBound_EvictsFromTheBackUntilItFits()
    {
        var clock = new FakeTimeProvider();
        var one = new CacheKey("m", 1, new float[100]).ByteSize + Value.ByteSize;
        var cache = new PredictionCache<ScoreResult>(100, (2 * one) + 10, TimeSpan.FromMinutes(1), clock);
        float[] Row(float x) => Enumerable.Repeat(x, 100).ToArray();

        cache.Set(new CacheKey("m", 1, Row(1)), Value, Value.ByteSize);
        cache.Set(new CacheKey("m", 1, Row(2)), Value, Value.ByteSize);
        cache.Set(new CacheKey("m", 1, Row(3)), Value, Value.ByteSize);

        Assert.Equal([3f, 2f], cache.KeysByRecency().Select(k => k.Features[0]).ToArray());
        Assert.True(cache.Bytes <= (2 * one) + 10);
    }

    [Fact]
    public async Task Batcher_ConcurrentRequests_AreScoredInOneCall_WithEachRequestsOwnOutputs()
    {
        using var model = OnnxScoringModel.Load(TestModels.LinearOnnx(), 1);
        var batches = new List<int>();
        var clock = new FakeTimeProvider();

        // A long wait that the fake clock never ends: the batch is scored because it is full.
        await using var batcher = new MicroBatcher(model, 3, TimeSpan.FromSeconds(10), 100, clock, batches.Add);
        var inputs = Enumerable.Range(0, 3).Select(i => TestModels.Rows(1, seed: i)).ToArray();
        var results = await Task.WhenAll(inputs.Select(input => batcher.ScoreAsync(input, 1)));

        for (var i = 0; i < inputs.Length; i++)
        {
            var alone = batcher.ScoreAlone(inputs[i], 1);
            Assert.Equal(alone.Values, results[i].Values);
            Assert.Equal(alone.Labels, results[i].Labels);
        }

        Assert.Equal(3, batches[0]);
    }

    [Fact]
    public void Stats_WindowPercentilesAndRates_FollowTheFakeClock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(1));
        var stats = new VersionStats(60, clock);
        for (var i = 1; i <= 100; i++)
        {
            stats.RecordRequest(TimeSpan.FromMicroseconds(i * 100), 1);
        }

        clock.Advance(TimeSpan.FromSeconds(30));
        stats.RecordRequest(TimeSpan.FromMilliseconds(50), 2);
        stats.RecordError();

        var all = stats.Snapshot(60);
        var recent = stats.Snapshot(10);

        Assert.Equal(101, all.Requests);
        Assert.InRange(all.P50Ms!.Value, 5.0, 5.0 * 1.125);
        Assert.InRange(all.P99Ms!.Value, 10.0, 10.0 * 1.125);
        Assert.Equal(1, recent.Requests);
        Assert.Equal(1, recent.Errors);
        Assert.Equal(2, recent.Rows);
        Assert.InRange(recent.P50Ms!.Value, 50.0, 50.0 * 1.125);
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(0, stats.Snapshot(60).Requests);
    }

    [Fact]
    public void Stats_TimedWindow_CountsOnlyItsSeconds_WithTheHistogram_AndSaysWhetherItIsComplete()
    {
        var start = DateTimeOffset.UnixEpoch.AddDays(1);
        var clock = new FakeTimeProvider(start);
        var stats = new VersionStats(60, clock);
        var t0 = start.ToUnixTimeSeconds();
        stats.RecordRequest(TimeSpan.FromMilliseconds(1), 1);
        clock.Advance(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 3; i++)
        {
            stats.RecordRequest(TimeSpan.FromMilliseconds(40), 1);
        }

        stats.RecordError();
        clock.Advance(TimeSpan.FromSeconds(10));
        stats.RecordRequest(TimeSpan.FromMilliseconds(1), 1);

        var middle = stats.Window(t0 + 5, t0 + 15);
        var open = stats.Window(t0 + 5, t0 + 25);

        Assert.True(middle.Complete);
        Assert.Equal(3, middle.Figures.Requests);
        Assert.Equal(1, middle.Figures.Errors);
        var bucket = Assert.Single(middle.Histogram);
        Assert.Equal(3, bucket.Count);
        Assert.InRange(bucket.UpperMs, 40.0, 40.0 * 1.125);
        Assert.False(open.Complete); // its last seconds are not over yet
        Assert.Equal(4, open.Figures.Requests);
        Assert.Equal([1L, 3L], open.Histogram.Select(b => b.Count));

        clock.Advance(TimeSpan.FromSeconds(60));
        var forgotten = stats.Window(t0 + 5, t0 + 15);
        Assert.False(forgotten.Complete); // older than the kept 60 s
        Assert.Equal(0, forgotten.Figures.Requests);
    }

    [Fact]
    public async Task Shadow_FullChannel_DropsAndCounts_ThenScoresAndCountsDisagreements()
    {
        var metrics = new ServingMetrics();
        using var model = OnnxScoringModel.Load(TestModels.LinearOnnx(scale: -1f), 1);
        var clock = new FakeTimeProvider();
        var shadowVersion = new LoadedVersion(
            new RegisteredModel("m", 2, "onnx", new Dictionary<string, double>(), new ModelLineage("d", "s", new Dictionary<string, string>(), null), clock.GetUtcNow(), "", 0, null),
            model,
            new MicroBatcher(model, 1, TimeSpan.Zero, 10, clock),
            new ModelReport(0, 0, null, 1, null, null),
            new VersionStats(10, clock),
            metrics.ForVersion("m", 2));
        var mirror = new ShadowMirror(2, metrics, NullLogger<ShadowMirror>.Instance);
        var input = TestModels.Rows(1);
        var served = new ScoreResult(1, 1, [0.9f], [1]);
        var alone = shadowVersion.Batcher.ScoreAlone(input, 1);
        var agreeing = alone with { };

        var offered = new[]
        {
            mirror.Offer("m", shadowVersion, "r1", input, 1, 1, served with { Labels = [1 - alone.Labels![0]] }),
            mirror.Offer("m", shadowVersion, "r2", input, 1, 1, agreeing),
            mirror.Offer("m", shadowVersion, "r3", input, 1, 1, served),
            mirror.Offer("m", shadowVersion, "r4", input, 1, 1, served),
        };
        mirror.Start();
        await mirror.DisposeAsync(); // completes the channel and waits for the loop to score what it holds

        Assert.Equal([true, true, false, false], offered);
        Assert.Equal(2, metrics.ShadowCount("m", "mirrored"));
        Assert.Equal(2, metrics.ShadowCount("m", "dropped"));
        Assert.Equal(1, metrics.ShadowCount("m", "disagreed"));
        var window = shadowVersion.Stats.Snapshot(10);
        Assert.Equal((2, 1), (window.ShadowCompared, window.ShadowDisagreed)); // the shadow version's own windowed figures
    }
}
