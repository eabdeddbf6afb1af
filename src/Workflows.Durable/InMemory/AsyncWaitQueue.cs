namespace Workflows.Durable.InMemory;

/// <summary>Waiters for a condition guarded by the caller's lock: wake one per new item, or all on a state change.</summary>
internal sealed class AsyncWaitQueue
{
    private readonly Queue<TaskCompletionSource> _waiters = new();

    /// <summary>Registers a waiter; call under the owner's lock, await outside it.</summary>
    public Task Wait()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.Enqueue(waiter);
        return waiter.Task;
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters; call under the owner's lock.</summary>
    public void Wake(int count = 1)
    {
        while (count > 0 && _waiters.TryDequeue(out var waiter))
        {
            // A waiter whose caller gave up is gone already; it does not use up a wake-up.
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
