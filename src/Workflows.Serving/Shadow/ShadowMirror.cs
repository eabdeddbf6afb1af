using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Workflows.Serving.Batching;
using Workflows.Serving.Diagnostics;
using Workflows.Serving.Models;

namespace Workflows.Serving.Shadow;

/// <summary>
/// Mirrors sampled requests to a shadow version off the hot path: the request only offers its input and answer to a
/// bounded channel (never waiting; when the channel is full the copy is dropped and counted) and goes on. One loop
/// scores the copies on the shadow version and counts (per model, and in the shadow version's windowed figures), and
/// logs with the request id, every disagreement with the answer served: another label on any row, or for a model
/// without labels a value more than 1e-6 apart.
/// </summary>
internal sealed class ShadowMirror : IAsyncDisposable
{
    private const float Tolerance = 1e-6f;
    private readonly Channel<Mirrored> _channel;
    private readonly ServingMetrics _metrics;
    private readonly ILogger _logger;
    private Task _loop = Task.CompletedTask;

    public ShadowMirror(int capacity, ServingMetrics metrics, ILogger<ShadowMirror> logger)
    {
        _channel = Channel.CreateBounded<Mirrored>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Starts the scoring loop (separate from construction so a test can fill the channel first).</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Offers a copy; returns false (and counts a drop) when the channel is full.</summary>
    public bool Offer(string model, LoadedVersion shadow, string requestId, float[] features, int rows, int servedVersion, ScoreResult served)
    {
        if (_channel.Writer.TryWrite(new Mirrored(model, shadow, requestId, features, rows, servedVersion, served)))
        {
            _metrics.Shadow(model, "mirrored");
            return true;
        }

        _metrics.Shadow(model, "dropped");
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    /// <summary>Whether two answers disagree: any label differs, or without labels any value differs by more than the tolerance.</summary>
    internal static bool Disagree(ScoreResult served, ScoreResult shadow)
    {
        if (served.Labels is not null && shadow.Labels is not null)
        {
            return !served.Labels.AsSpan().SequenceEqual(shadow.Labels);
        }

        if (served.Values.Length != shadow.Values.Length)
        {
            return true;
        }

        for (var i = 0; i < served.Values.Length; i++)
        {
            if (!(Math.Abs(served.Values[i] - shadow.Values[i]) <= Tolerance))
            {
                return true;
            }
        }

        return false;
    }

    private async Task RunAsync()
    {
        await foreach (var mirrored in _channel.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                var shadowResult = await mirrored.Shadow.Batcher.ScoreAsync(mirrored.Features, mirrored.Rows).ConfigureAwait(false);
                var disagreed = Disagree(mirrored.Served, shadowResult);
                mirrored.Shadow.Stats.RecordShadow(disagreed);
                if (disagreed)
                {
                    _metrics.Shadow(mirrored.Model, "disagreed");
                    ServingLog.ShadowDisagreement(_logger, mirrored.Model, mirrored.RequestId, mirrored.ServedVersion, mirrored.Shadow.Version);
                }
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                _metrics.Shadow(mirrored.Model, "failed");
                ServingLog.ShadowFailed(_logger, exception, mirrored.Model, mirrored.Shadow.Version, mirrored.RequestId);
            }
        }
    }

    private sealed record Mirrored(string Model, LoadedVersion Shadow, string RequestId, float[] Features, int Rows, int ServedVersion, ScoreResult Served);
}
