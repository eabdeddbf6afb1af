namespace Workflows.DurableTask.InMemory;

/// <summary>
/// A FIFO queue whose consumers wait asynchronously: an item is handed straight to the longest-waiting consumer, or
/// kept until one asks. A wait ends with <see langword="null"/> at its timeout or cancellation.
/// </summary>
internal sealed class WorkQueue<T>
    where T : class
{
    private readonly Lock _lock = new();
    private readonly Queue<T> _items = new();
    private readonly LinkedList<TaskCompletionSource<T?>> _waiters = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    public void Enqueue(T item)
    {
        lock (_lock)
        {
            if (_waiters.First is { } waiter)
            {
                _waiters.RemoveFirst();
                waiter.Value.SetResult(item);
                return;
            }

            _items.Enqueue(item);
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _items.Clear();
        }
    }

    /// <summary>Takes the first item if there is one.</summary>
    public bool TryDequeue([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T item)
    {
        lock (_lock)
        {
            return _items.TryDequeue(out item);
        }
    }

    public Task<T?> DequeueAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        LinkedListNode<TaskCompletionSource<T?>> node;
        lock (_lock)
        {
            if (_items.TryDequeue(out T? item))
            {
                return Task.FromResult<T?>(item);
            }

            if (cancellationToken.IsCancellationRequested || timeout <= TimeSpan.Zero)
            {
                return Task.FromResult<T?>(null);
            }

            node = _waiters.AddLast(new TaskCompletionSource<T?>(TaskCreationOptions.RunContinuationsAsynchronously));
        }

        return WaitAsync(node, timeout, cancellationToken);
    }

    private async Task<T?> WaitAsync(LinkedListNode<TaskCompletionSource<T?>> node, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var expiry = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            expiry.CancelAfter(timeout > MaxTimerDelay ? MaxTimerDelay : timeout);
        }

        using (expiry.Token.Register(() => GiveUp(node)))
        {
            return await node.Value.Task.ConfigureAwait(false);
        }
    }

    private void GiveUp(LinkedListNode<TaskCompletionSource<T?>> node)
    {
        lock (_lock)
        {
            if (node.List is not null)
            {
                _waiters.Remove(node);
                node.Value.SetResult(null);
            }
        }
    }

    /// <summary>The longest delay a timer takes.</summary>
    internal static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);
}
