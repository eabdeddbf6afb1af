using System.Threading.Channels;
using Workflows.Serving.Scoring;

namespace Workflows.Serving.Batching;

/// <summary>
/// Dynamic batching in the manner of Triton's dynamic batcher: requests for one model version queue on a channel and
/// are scored in batches of at most <c>maxBatchRows</c> rows, copied into one reused buffer and scored in one model
/// call, each request handed its own outputs. One thread at a time drains the queue (the drainer). With no wait (the
/// default), a request that finds no drainer becomes it and scores, on its own thread, the batch at the head of the
/// queue (itself and whatever queued before it), so an idle service answers without a thread hop; what queued
/// meanwhile is drained by a thread-pool drainer. With a wait, the drainer always runs on the thread pool and a batch
/// with room waits up to <c>maxWait</c> for more requests after its first. A request never blocks: it queues (or is
/// refused when the queue is full) and awaits its result. A request of a batch's size or more is scored on its own.
/// With <c>maxBatchRows</c> 1 there is no queue and each request is scored on its caller's thread.
/// </summary>
internal sealed class MicroBatcher : IAsyncDisposable
{
    private readonly IScoringModel _model;
    private readonly int _maxBatchRows;
    private readonly TimeSpan _maxWait;
    private readonly TimeProvider _timeProvider;
    private readonly Channel<Pending>? _queue;
    private readonly SemaphoreSlim _drainer = new(1, 1);
    private readonly Func<Task> _drainOnThreadPool;
    private readonly float[] _features;
    private readonly float[] _values;
    private readonly long[] _labels;
    private readonly List<Pending> _batch = [];
    private readonly Action<int>? _batchScored;
    private bool _disposed;

    /// <param name="model">The model to score with.</param>
    /// <param name="maxBatchRows">Most rows in one model call.</param>
    /// <param name="maxWait">How long a batch with room waits for more requests after its first; zero takes what is queued.</param>
    /// <param name="queueCapacity">Requests that may wait; more are refused with <see cref="BatcherOverloadedException"/>.</param>
    /// <param name="timeProvider">Clock of the wait.</param>
    /// <param name="batchScored">Called with the rows of each batch scored (metrics).</param>
    public MicroBatcher(IScoringModel model, int maxBatchRows, TimeSpan maxWait, int queueCapacity, TimeProvider timeProvider, Action<int>? batchScored = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchRows, 1);
        _model = model;
        _maxBatchRows = maxBatchRows;
        _maxWait = maxWait;
        _timeProvider = timeProvider;
        _batchScored = batchScored;
        _drainOnThreadPool = DrainAsync;
        var schema = model.Schema;
        _features = new float[maxBatchRows * schema.FeatureCount];
        _values = new float[maxBatchRows * schema.ValueWidth];
        _labels = new long[maxBatchRows];
        if (maxBatchRows > 1)
        {
            _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(queueCapacity)
            {
                SingleReader = true, // only the drainer reads
                FullMode = BoundedChannelFullMode.Wait,
            });
        }
    }

    /// <summary>Scores <paramref name="rows"/> rows of <paramref name="features"/> (exactly rows × features long).</summary>
    public Task<ScoreResult> ScoreAsync(float[] features, int rows)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (_queue is null || rows >= _maxBatchRows)
        {
            return Task.FromResult(ScoreAlone(features, rows));
        }

        var pending = new Pending(features, rows);
        if (!_queue.Writer.TryWrite(pending))
        {
            return Volatile.Read(ref _disposed)
                ? Task.FromException<ScoreResult>(new ObjectDisposedException(nameof(MicroBatcher)))
                : Task.FromException<ScoreResult>(new BatcherOverloadedException());
        }

        if (_drainer.Wait(0))
        {
            if (_maxWait > TimeSpan.Zero)
            {
                _ = Task.Run(_drainOnThreadPool);
            }
            else
            {
                ScoreBatch(Take(_queue.Reader));
                ReleaseDrainer(handOff: true);
            }
        }

        return pending.Completion.Task;
    }

    /// <summary>Scores on the caller's thread, outside any batch (in-process batch scoring, oversized requests).</summary>
    public ScoreResult ScoreAlone(float[] features, int rows)
    {
        var schema = _model.Schema;
        var values = new float[rows * schema.ValueWidth];
        var labels = schema.LabelName is null ? null : new long[rows];
        _model.Score(features, rows, values, labels ?? []);
        _batchScored?.Invoke(rows);
        return new ScoreResult(rows, schema.ValueWidth, values, labels);
    }

    /// <summary>Refuses new requests and returns once every queued one has been scored.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_queue is null)
        {
            return;
        }

        Volatile.Write(ref _disposed, true);
        _queue.Writer.TryComplete();
        await _drainer.WaitAsync().ConfigureAwait(false);
        try
        {
            for (var rows = Take(_queue.Reader); rows > 0; rows = Take(_queue.Reader))
            {
                ScoreBatch(rows);
            }
        }
        finally
        {
            _drainer.Release();
        }
    }

    /// <summary>
    /// Gives up the drainer's role. A request that queued while it was held found it taken and counts on the drainer to
    /// score it, so when the queue is not empty afterwards the role is taken again (unless another request took it)
    /// and, with <paramref name="handOff"/>, handed to a thread-pool drainer; without, the caller drains on.
    /// </summary>
    private bool ReleaseDrainer(bool handOff)
    {
        var reader = _queue!.Reader;
        if (reader.Count > 0 && !handOff)
        {
            return true;
        }

        if (reader.Count == 0)
        {
            _drainer.Release();
            if (reader.Count == 0 || !_drainer.Wait(0))
            {
                return false;
            }
        }

        if (handOff)
        {
            _ = Task.Run(_drainOnThreadPool);
            return false;
        }

        return true;
    }

    /// <summary>The thread-pool drainer: holds the drainer's role, scores batches until the queue is empty.</summary>
    private async Task DrainAsync()
    {
        var reader = _queue!.Reader;
        do
        {
            var rows = Take(reader);
            if (rows > 0 && rows < _maxBatchRows && _maxWait > TimeSpan.Zero)
            {
                rows = await WaitForMoreAsync(reader, rows).ConfigureAwait(false);
            }

            ScoreBatch(rows);
        }
        while (ReleaseDrainer(handOff: false));
    }

    /// <summary>Moves queued requests into the batch while they fit; returns the batch's rows.</summary>
    private int Take(ChannelReader<Pending> reader, int rows = 0)
    {
        while (reader.TryPeek(out var next) && rows + next.Rows <= _maxBatchRows && reader.TryRead(out next))
        {
            _batch.Add(next);
            rows += next.Rows;
        }

        return rows;
    }

    private async Task<int> WaitForMoreAsync(ChannelReader<Pending> reader, int rows)
    {
        using var deadline = new CancellationTokenSource(_maxWait, _timeProvider);
        try
        {
            while (rows < _maxBatchRows && await reader.WaitToReadAsync(deadline.Token).ConfigureAwait(false))
            {
                var before = rows;
                rows = Take(reader, rows);
                if (rows == before)
                {
                    break; // the next request does not fit: this batch is full enough
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // The wait is over: score what we have.
        }

        return rows;
    }

    private void ScoreBatch(int rows)
    {
        if (rows == 0)
        {
            return;
        }

        var schema = _model.Schema;
        try
        {
            var offset = 0;
            foreach (var pending in _batch)
            {
                pending.Features.AsSpan(0, pending.Rows * schema.FeatureCount).CopyTo(_features.AsSpan(offset));
                offset += pending.Rows * schema.FeatureCount;
            }

            _model.Score(_features, rows, _values, _labels);
            _batchScored?.Invoke(rows);
            var row = 0;
            foreach (var pending in _batch)
            {
                var values = _values.AsSpan(row * schema.ValueWidth, pending.Rows * schema.ValueWidth).ToArray();
                var labels = schema.LabelName is null ? null : _labels.AsSpan(row, pending.Rows).ToArray();
                row += pending.Rows;
                pending.Completion.TrySetResult(new ScoreResult(pending.Rows, schema.ValueWidth, values, labels));
            }
        }
        catch (Exception exception)
        {
            foreach (var pending in _batch)
            {
                pending.Completion.TrySetException(exception);
            }
        }
        finally
        {
            _batch.Clear();
        }
    }

    private sealed class Pending(float[] features, int rows)
    {
        public float[] Features { get; } = features;

        public int Rows { get; } = rows;

        public TaskCompletionSource<ScoreResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
