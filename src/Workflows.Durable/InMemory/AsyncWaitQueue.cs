namespace Workflows.Durable.InMemory;

/// <summary>Waiters for a condition guarded by the caller's lock: wake one per new item, or all on a state change.</summary>
internal sealed class AsyncWaitQueue
{
    private readonly Queue<TaskCompletionSource> _waiters = new();

    /// <summary>Registers a waiter; call under the owner's lock, then await it with <see cref="WaitAsync"/> outside the lock.</summary>
    public TaskCompletionSource Enqueue()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.Enqueue(waiter);
        return waiter;
    }

    /// <summary>
    /// Awaits a waiter. Cancellation cancels the waiter itself, so a later wake-up skips it instead of being
    /// spent on a caller that has gone (a stopped worker's loops must not swallow new work's wake-ups).
    /// </summary>
    public static async Task WaitAsync(TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(static state => ((TaskCompletionSource)state!).TrySetCanceled(), waiter))
        {
            await waiter.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters; call under the owner's lock.</summary>
    public void Wake(int count = 1)
    {
        while (count > 0 && _waiters.TryDequeue(out var waiter))
        {
            // A cancelled waiter does not use up a wake-up.
            if (waiter.TrySetResult())
            {
                count--;
            }
        }
    }

    /// <summary>Wakes every waiter; call under the owner's lock.</summary>
    public void WakeAll()
    {
        while (_waiters.TryDequeue(out var waiter))
        {
            waiter.TrySetResult();
        }
    }
}
