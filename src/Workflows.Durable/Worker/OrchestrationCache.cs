namespace Workflows.Durable.Worker;

/// <summary>
/// Bounded LRU cache of live orchestration executors keyed by instance id, each valid for one history ETag.
/// A work item checks its instance's entry out and returns it after its commit; a work item for the same
/// instance that starts in between (the provider may hand it out as soon as the commit lands) waits for the
/// return instead of missing the cache and replaying.
/// </summary>
internal sealed class OrchestrationCache(int capacity)
{
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _checkedOut = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new();
    private readonly Lock _gate = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>
    /// Checks out the executor cached for <paramref name="instanceId"/> if it matches <paramref name="etag"/>
    /// (else null). Every call must be followed by <see cref="Return"/>.
    /// </summary>
    public async ValueTask<OrchestrationExecutor?> CheckOutAsync(string instanceId, string etag)
    {
        if (capacity == 0)
        {
            return null;
        }

        while (true)
        {
            Task busy;
            lock (_gate)
            {
                if (!_checkedOut.TryGetValue(instanceId, out var holder))
                {
                    _checkedOut[instanceId] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    if (!_entries.Remove(instanceId, out var node))
                    {
                        return null;
                    }

                    _lru.Remove(node);
                    return string.Equals(node.Value.ETag, etag, StringComparison.Ordinal) ? node.Value.Executor : null;
                }

                busy = holder.Task;
            }

            await busy.ConfigureAwait(false);
        }
    }

    /// <summary>Ends a checkout, caching <paramref name="executor"/> at <paramref name="etag"/> when given.</summary>
    public void Return(string instanceId, string? etag, OrchestrationExecutor? executor)
    {
        if (capacity == 0)
        {
            return;
        }

        TaskCompletionSource? holder;
        lock (_gate)
        {
            if (executor is not null && etag is not null)
            {
                while (_entries.Count >= capacity && _lru.Last is { } oldest)
                {
                    _lru.RemoveLast();
                    _entries.Remove(oldest.Value.InstanceId);
                }

                _entries[instanceId] = _lru.AddFirst(new Entry(instanceId, etag, executor));
            }

            _checkedOut.Remove(instanceId, out holder);
        }

        holder?.TrySetResult();
    }

    private sealed record Entry(string InstanceId, string ETag, OrchestrationExecutor Executor);
}
