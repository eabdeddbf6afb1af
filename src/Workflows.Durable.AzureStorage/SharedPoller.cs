namespace Workflows.Durable.AzureStorage;

/// <summary>
/// One poller per queue set, however many dispatcher loops want work: the first caller polls (and, when nothing
/// came, backs off towards the maximum interval), the others wait for the end of its cycle and then look at the
/// buffer again. Idle cost is one poll per interval, not one per dispatcher loop; a message sent by this process
/// ends the back-off at once.
/// </summary>
internal sealed class SharedPoller(Func<CancellationToken, Task<int>> receive, Func<Task> localSend, TimeSpan minInterval, TimeSpan maxInterval, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly TimeSpan _minInterval = minInterval;
    private bool _polling;
    private TaskCompletionSource _cycle = NewCycle();
    private TimeSpan _delay = minInterval;

    /// <summary>Polls once or waits for the poll in progress.</summary>
    public async Task PollOrWaitAsync(CancellationToken cancellationToken)
    {
        Task cycle;
        bool poll;
        lock (_gate)
        {
            cycle = _cycle.Task;
            poll = !_polling;
            _polling = true;
        }

        if (!poll)
        {
            await cycle.WaitAsync(cancellationToken);
            return;
        }

        try
        {
            var local = localSend();
            if (await receive(cancellationToken) > 0)
            {
                _delay = _minInterval;
                return;
            }

            var woken = await Task.WhenAny(local, Task.Delay(_delay, time, cancellationToken));
            _delay = woken == local ? _minInterval : TimeSpan.FromTicks(Math.Min(_delay.Ticks * 2, maxInterval.Ticks));
        }
        finally
        {
            TaskCompletionSource done;
            lock (_gate)
            {
                _polling = false;
                done = _cycle;
                _cycle = NewCycle();
            }

            done.TrySetResult();
        }
    }

    private static TaskCompletionSource NewCycle() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
