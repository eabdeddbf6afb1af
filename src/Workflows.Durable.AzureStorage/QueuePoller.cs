using Microsoft.Extensions.Logging;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// One background receive loop per queue set, however many dispatcher loops want work. It polls while messages
/// keep arriving and otherwise backs off (doubling) to the maximum interval, so an idle hub costs one receive per
/// queue per interval. Dispatchers never poll: they wait for the buffers this loop fills. A message sent by this
/// process (<see cref="Wake"/>) ends the back-off at once; results of activities run in-process never touch a
/// queue and so never cause a poll. A failed receive is logged under the name of the queue set, and the loop backs off
/// and carries on.
/// </summary>
internal sealed class QueuePoller(string name, Func<CancellationToken, Task<int>> receive, TimeSpan minInterval, Func<TimeSpan> maxInterval, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly WakeUp _wake = new();
    private Task? _loop;
    private int _disposed;

    /// <summary>Starts the loop (idempotent).</summary>
    public void Start()
    {
        lock (_gate)
        {
            _loop ??= Task.Run(LoopAsync, CancellationToken.None);
        }
    }

    /// <summary>Polls now and restarts the back-off from the minimum interval.</summary>
    public void Wake() => _wake.Fire();

    /// <summary>Stops the loop and waits for its receive in flight, if any (idempotent).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_gate)
        {
            loop = _loop;
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        var delay = minInterval;
        while (!_stop.IsCancellationRequested)
        {
            var wake = _wake.Next;
            var failed = false;
            try
            {
                if (await receive(_stop.Token).ConfigureAwait(false) > 0)
                {
                    delay = minInterval;
                    continue;
                }

                var woken = await Task.WhenAny(wake, Task.Delay(delay, time, _stop.Token)).ConfigureAwait(false);
                await woken.ConfigureAwait(false); // surfaces cancellation of the delay
                delay = woken == wake ? minInterval : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, maxInterval().Ticks));
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Storage unreachable for a moment, or one bad batch: the loop must outlive it, since every
                // dispatcher of this process depends on it. Unreadable messages themselves go to the poison queue.
                TaskHubLog.PollFailed(logger, name, exception.GetType().Name, exception.Message);
                failed = true;
            }

            if (failed)
            {
                delay = TimeSpan.FromTicks(Math.Min(Math.Max(delay.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks), maxInterval().Ticks));
                try
                {
                    await Task.Delay(delay, time, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
