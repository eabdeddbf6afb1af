namespace Workflows.Durable.Worker;

/// <summary>
/// Bounded LRU cache of live orchestration executors keyed by instance id, each valid for one history ETag.
/// An entry is taken out while a work item uses it, so it is never shared.
/// </summary>
internal sealed class OrchestrationCache(int capacity)
{
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
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

    /// <summary>Removes and returns the executor cached for <paramref name="instanceId"/> if it matches <paramref name="etag"/>.</summary>
    public OrchestrationExecutor? Take(string instanceId, string etag)
    {
        lock (_gate)
        {
            if (!_entries.Remove(instanceId, out var node))
            {
                return null;
            }

            _lru.Remove(node);
            return string.Equals(node.Value.ETag, etag, StringComparison.Ordinal) ? node.Value.Executor : null;
        }
    }

    public void Put(string instanceId, string etag, OrchestrationExecutor executor)
    {
        if (capacity == 0)
        {
            return;
        }

        lock (_gate)
        {
            if (_entries.Remove(instanceId, out var existing))
            {
                _lru.Remove(existing);
            }

            while (_entries.Count >= capacity && _lru.Last is { } oldest)
            {
                _lru.RemoveLast();
                _entries.Remove(oldest.Value.InstanceId);
            }

            _entries[instanceId] = _lru.AddFirst(new Entry(instanceId, etag, executor));
        }
    }

    private sealed record Entry(string InstanceId, string ETag, OrchestrationExecutor Executor);
}
