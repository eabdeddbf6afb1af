using Microsoft.Extensions.Time.Testing;
using Workflows.Serving.Batching;
using Workflows.Serving.Scoring;
using Xunit;

namespace Workflows.Serving.Tests;

/// <summary>
/// The batcher without a wait: an idle batcher scores a request on its caller's thread; what queues while a batch is
/// scored is scored together next, by a thread-pool drainer; disposing scores what is queued and refuses the rest.
/// </summary>
public sealed class MicroBatcherTests : IDisposable
{
    private readonly OnnxScoringModel _model = OnnxScoringModel.Load(TestModels.LinearOnnx(), 1);
    private readonly List<int> _batches = [];

    [Fact]
    public async Task IdleBatcher_ScoresTheRequestOnTheCallersThread()
    {
        await using var batcher = new MicroBatcher(_model, 8, TimeSpan.Zero, 100, new FakeTimeProvider(), Record);
        var input = TestModels.Rows(1);

        var scoring = batcher.ScoreAsync(input, 1);

        Assert.True(scoring.IsCompletedSuccessfully);
        Assert.Equal(Expected(input, 1), (await scoring).Values);
        Assert.Equal([1], Batches());
    }

    [Fact]
    public async Task RequestsQueuedWhileABatchIsScored_AreScoredTogetherInTheNextBatch()
    {
        using var gated = new GatedModel(_model);
        await using var batcher = new MicroBatcher(gated, 8, TimeSpan.Zero, 100, new FakeTimeProvider(), Record);
        var inputs = Enumerable.Range(0, 3).Select(seed => TestModels.Rows(1, seed: seed)).ToArray();

        var first = Task.Run(() => batcher.ScoreAsync(inputs[0], 1));
        await gated.Entered;
        var second = batcher.ScoreAsync(inputs[1], 1);
        var third = batcher.ScoreAsync(inputs[2], 1);
        Assert.False(second.IsCompleted || third.IsCompleted);
        gated.Open();
        var results = await Task.WhenAll(first, second, third);

        Assert.Equal([1, 2], Batches());
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(Expected(inputs[i], 1), results[i].Values);
        }
    }

    [Fact]
    public async Task Dispose_ScoresWhatIsQueued_AndRefusesWhatComesAfter()
    {
        using var gated = new GatedModel(_model);
        var batcher = new MicroBatcher(gated, 8, TimeSpan.Zero, 100, new FakeTimeProvider(), Record);
        var first = Task.Run(() => batcher.ScoreAsync(TestModels.Rows(1), 1));
        await gated.Entered;
        var queued = batcher.ScoreAsync(TestModels.Rows(1, seed: 5), 1);

        var disposing = batcher.DisposeAsync().AsTask();
        var refused = batcher.ScoreAsync(TestModels.Rows(1), 1);
        gated.Open();
        await disposing;

        Assert.Equal(Expected(TestModels.Rows(1, seed: 5), 1), (await queued).Values);
        await first;
        await Assert.ThrowsAsync<ObjectDisposedException>(() => refused);
        Assert.Equal(2, Batches().Sum());
    }

    public void Dispose() => _model.Dispose();

    private void Record(int rows)
    {
        lock (_batches)
        {
            _batches.Add(rows);
        }
    }

    private int[] Batches()
    {
        lock (_batches)
        {
            return [.. _batches];
        }
    }

    private float[] Expected(float[] input, int rows)
    {
        var values = new float[rows * _model.Schema.ValueWidth];
        _model.Score(input, rows, values, new long[rows]);
        return values;
    }

    /// <summary>The model, whose first call blocks until <see cref="Open"/> and says when it has begun.</summary>
    private sealed class GatedModel(IScoringModel inner) : IScoringModel
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _gate = new();

        public ModelSchema Schema => inner.Schema;

        public Task Entered => _entered.Task;

        public void Open() => _gate.Set();

        public void Score(float[] features, int rows, float[] values, long[] labels)
        {
            _entered.TrySetResult();
            _gate.Wait();
            inner.Score(features, rows, values, labels);
        }

        public void Dispose() => _gate.Dispose();
    }
}
