using Azure.Data.Tables;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// The sentinel of this worker's last commit per instance: it stands in for reading the sentinel again at the next
/// lock while the worker owns the partition. Bounded: past the bound the cache starts over (it only saves reads). A
/// stale entry can only make a commit fail its ETag check, never corrupt history.
/// </summary>
internal sealed class SentinelCache
{
    /// <summary>Bound of the cache.</summary>
    private const int MaxCachedInstances = 10_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, TableEntity> _sentinels = new(StringComparer.Ordinal);

    /// <summary>The sentinel this worker committed last for the instance, if it still knows it.</summary>
    public TableEntity? Get(string instanceId)
    {
        lock (_gate)
        {
            return _sentinels.GetValueOrDefault(instanceId);
        }
    }

    /// <summary>Remembers the sentinel of a commit this worker just made.</summary>
    public void Remember(string instanceId, TableEntity sentinel)
    {
        lock (_gate)
        {
            if (_sentinels.Count >= MaxCachedInstances && !_sentinels.ContainsKey(instanceId))
            {
                _sentinels.Clear();
            }

            _sentinels[instanceId] = sentinel;
        }
    }

    /// <summary>Forgets the instance's sentinel (another worker wrote the instance, or it was poisoned).</summary>
    public void Forget(string instanceId)
    {
        lock (_gate)
        {
            _sentinels.Remove(instanceId);
        }
    }

    /// <summary>Forgets the sentinels of a released partition's instances; returns their ids.</summary>
    public List<string> ForgetWhere(Func<string, bool> inPartition)
    {
        lock (_gate)
        {
            var forgotten = _sentinels.Keys.Where(inPartition).ToList();
            foreach (var instanceId in forgotten)
            {
                _sentinels.Remove(instanceId);
            }

            return forgotten;
        }
    }
}
