using System.Runtime.InteropServices;

namespace Workflows.Serving.Caching;

/// <summary>
/// A least-recently-used cache with a time to live and a memory bound: a hit moves its entry to the front; an entry
/// past its time to live is a miss and is removed; adding evicts from the back (least recently used) while the entries
/// are more than <c>maxEntries</c> or take more than <c>maxBytes</c>. Keys compare inputs bit for bit (a NaN input
/// equals the same NaN). Thread-safe (one lock; every operation is O(1)).
/// </summary>
/// <typeparam name="TValue">The cached value.</typeparam>
internal sealed class PredictionCache<TValue>
    where TValue : class
{
    private readonly int _maxEntries;
    private readonly long _maxBytes;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _timeProvider;
    private readonly Dictionary<CacheKey, LinkedListNode<Entry>> _index = [];
    private readonly LinkedList<Entry> _order = new();
    private readonly Lock _gate = new();
    private long _bytes;

    public PredictionCache(int maxEntries, long maxBytes, TimeSpan ttl, TimeProvider timeProvider)
    {
        _maxEntries = maxEntries;
        _maxBytes = maxBytes;
        _ttl = ttl;
        _timeProvider = timeProvider;
    }

    /// <summary>Whether the cache keeps anything.</summary>
    public bool Enabled => _maxEntries > 0 && _maxBytes > 0;

    /// <summary>Entries held now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _index.Count;
            }
        }
    }

    /// <summary>Estimated bytes held now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Entries evicted to stay within the bounds (not counting expiries).</summary>
    public long Evictions { get; private set; }

    public bool TryGet(CacheKey key, out TValue value)
    {
        lock (_gate)
        {
            if (_index.TryGetValue(key, out var node))
            {
                if (node.Value.ExpiresAt > _timeProvider.GetUtcNow())
                {
                    _order.Remove(node);
                    _order.AddFirst(node);
                    value = node.Value.Value;
                    return true;
                }

                Remove(node);
            }
        }

        value = null!;
        return false;
    }

    /// <summary>Adds or replaces <paramref name="key"/>; <paramref name="valueBytes"/> is the value's estimated size.</summary>
    public void Set(CacheKey key, TValue value, long valueBytes)
    {
        if (!Enabled)
        {
            return;
        }

        var entry = new Entry(key, value, _timeProvider.GetUtcNow() + _ttl, key.ByteSize + valueBytes);
        if (entry.Bytes > _maxBytes)
        {
            return;
        }

        lock (_gate)
        {
            if (_index.TryGetValue(key, out var existing))
            {
                Remove(existing);
            }

            _index[key] = _order.AddFirst(entry);
            _bytes += entry.Bytes;
            while (_index.Count > _maxEntries || _bytes > _maxBytes)
            {
                Remove(_order.Last!);
                Evictions++;
            }
        }
    }

    /// <summary>The keys from most to least recently used (tests, diagnostics).</summary>
    public IReadOnlyList<CacheKey> KeysByRecency()
    {
        lock (_gate)
        {
            return _order.Select(entry => entry.Key).ToList();
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _order.Remove(node);
        _index.Remove(node.Value.Key);
        _bytes -= node.Value.Bytes;
    }

    private sealed record Entry(CacheKey Key, TValue Value, DateTimeOffset ExpiresAt, long Bytes);
}

/// <summary>A cache key: model, version and the request's input values, compared bit for bit.</summary>
internal sealed class CacheKey : IEquatable<CacheKey>
{
    private readonly int _hash;

    /// <param name="model">Model name.</param>
    /// <param name="version">Model version.</param>
    /// <param name="features">The input values; kept, not copied (the caller must not change them).</param>
    public CacheKey(string model, int version, float[] features)
    {
        Model = model;
        Version = version;
        Features = features;
        var hash = default(HashCode);
        hash.Add(model);
        hash.Add(version);
        hash.AddBytes(MemoryMarshal.AsBytes(features.AsSpan()));
        _hash = hash.ToHashCode();
    }

    public string Model { get; }

    public int Version { get; }

    public float[] Features { get; }

    /// <summary>Estimated bytes of the key.</summary>
    public long ByteSize => Features.Length * sizeof(float) + Model.Length * sizeof(char) + 96;

    public bool Equals(CacheKey? other) =>
        other is not null && other._hash == _hash && other.Version == Version && other.Model == Model
        && MemoryMarshal.AsBytes(other.Features.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(Features.AsSpan()));

    public override bool Equals(object? obj) => Equals(obj as CacheKey);

    public override int GetHashCode() => _hash;
}
