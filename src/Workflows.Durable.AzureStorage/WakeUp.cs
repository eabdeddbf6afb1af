namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Wakes the loops waiting for work: <see cref="Next"/> completes at the next <see cref="Fire"/>, after which a new one
/// begins. A waiter takes <see cref="Next"/> before it looks for work, so a fire between its look and its wait is not
/// lost.
/// </summary>
internal sealed class WakeUp
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _next = New();

    /// <summary>Completes at the next <see cref="Fire"/>.</summary>
    public Task Next
    {
        get
        {
            lock (_gate)
            {
                return _next.Task;
            }
        }
    }

    /// <summary>Wakes every waiter of the current <see cref="Next"/>.</summary>
    public void Fire()
    {
        TaskCompletionSource fired;
        lock (_gate)
        {
            fired = _next;
            _next = New();
        }

        fired.TrySetResult();
    }

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
