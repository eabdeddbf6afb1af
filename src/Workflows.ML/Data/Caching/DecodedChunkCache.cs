using System.Diagnostics.CodeAnalysis;

namespace Workflows.ML.Data.Caching;

/// <summary>
/// A per-process cache of decoded chunks, bounded by a byte budget and evicting the least recently used chunk first,
/// so the second and later epochs of a training run on the same worker skip Parquet or CSV decoding, and so does the
/// second pass of the statistics (see <see cref="TryAdmit"/> and <see cref="TryTake"/>). Keys are the caller's: they
/// must name everything the decoded content depends on (the EpochTraining activities include the run, the statistics
/// the file's content version, so a dataset rewritten between runs is never served stale). Training chunks and
/// statistics chunks share the one budget. Thread-safe; cached chunks are shared read-only.
/// </summary>
public sealed class DecodedChunkCache
{
    // Per-entry bookkeeping (key, node, record) counted against the budget besides the arrays themselves.
    private const long EntryOverheadBytes = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new();
    private readonly List<float[]> _buffers = [];
    private long _cachedBytes;
    private long _pooledBytes;
    private long _hits;
    private long _misses;

    /// <summary>Creates a cache holding at most <paramref name="budgetBytes"/> bytes of chunks; 0 caches nothing.</summary>
    public DecodedChunkCache(long budgetBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        BudgetBytes = budgetBytes;
    }

    /// <summary>The byte budget.</summary>
    public long BudgetBytes { get; }

    /// <summary>Bytes of cached chunks held now (with <see cref="PooledBytes"/>, never above <see cref="BudgetBytes"/>).</summary>
    public long CachedBytes
    {
        get
        {
            lock (_lock)
            {
                return _cachedBytes;
            }
        }
    }

    /// <summary>
    /// Bytes of reusable chunk buffers held now (see <see cref="RentBuffer"/>); they share the budget with the cached
    /// chunks: <see cref="CachedBytes"/> + <see cref="PooledBytes"/> never exceeds <see cref="BudgetBytes"/>.
    /// </summary>
    public long PooledBytes
    {
        get
        {
            lock (_lock)
            {
                return _pooledBytes;
            }
        }
    }

    /// <summary>Chunks held now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Lookups that found their chunk.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that had to decode.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>The bytes a chunk costs against the budget: its arrays and the entry's bookkeeping.</summary>
    public static long SizeOf(IDecodedChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        return chunk.ArrayBytes + EntryOverheadBytes;
    }

    /// <summary>The bytes <paramref name="bytes"/> of arrays cost against the budget as one entry.</summary>
    public static long EntryBytes(long bytes) => bytes + EntryOverheadBytes;

    /// <summary>The cached chunk of <paramref name="key"/>, marked as most recently used.</summary>
    public bool TryGet<T>(string key, [NotNullWhen(true)] out T? chunk)
        where T : class, IDecodedChunk
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node) && node.Value.Value is T found)
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                chunk = found;
                _hits++;
                return true;
            }

            _misses++;
            chunk = null;
            return false;
        }
    }

    /// <summary>
    /// Caches <paramref name="chunk"/> under <paramref name="key"/> (replacing an entry of that key), evicting the
    /// least recently used chunks until it fits. A chunk larger than the whole budget is not cached.
    /// </summary>
    public void Add(string key, IDecodedChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(key);
        var bytes = SizeOf(chunk);
        if (bytes > BudgetBytes)
        {
            return;
        }

        lock (_lock)
        {
            RemoveEntry(key);
            DropBuffersFor(bytes);
            while (_cachedBytes + bytes > BudgetBytes)
            {
                RemoveNode(_recency.Last!);
            }

            Insert(new Entry(key, chunk, bytes, Scan: null));
        }
    }

    /// <summary>
    /// Caches <paramref name="value"/> (<paramref name="bytes"/> against the budget, see <see cref="EntryBytes"/>)
    /// under <paramref name="key"/> for one later <see cref="TryTake"/>, with a scan-resistant admission: to make room
    /// it evicts least recently used entries of other scans (training chunks, leftovers of other statistics runs), never
    /// an entry of the same <paramref name="scan"/>. When the entries of this scan already fill the budget the value is
    /// not cached and false is returned: a pass over more data than the budget keeps its first chunks for the next pass
    /// instead of evicting each one to admit the next, which would leave the next pass (reading in the same order)
    /// nothing but misses. Pooled buffers (<see cref="RentBuffer"/>) give way first.
    /// </summary>
    public bool TryAdmit(string key, object value, long bytes, string scan)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes > BudgetBytes)
        {
            return false;
        }

        lock (_lock)
        {
            RemoveEntry(key);
            if (!Fits(bytes, scan))
            {
                return false;
            }

            DropBuffersFor(bytes);
            var node = _recency.Last;
            while (_cachedBytes + bytes > BudgetBytes)
            {
                var previous = node!.Previous;
                if (!string.Equals(node.Value.Scan, scan, StringComparison.Ordinal))
                {
                    RemoveNode(node);
                }

                node = previous;
            }

            Insert(new Entry(key, value, bytes, scan));
            return true;
        }
    }

    /// <summary>
    /// Whether <see cref="TryAdmit"/> of <paramref name="bytes"/> for <paramref name="scan"/> would succeed now (new
    /// key): a pass asks first and does not decode into a cache buffer what it could not keep.
    /// </summary>
    public bool WouldAdmit(long bytes, string scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        lock (_lock)
        {
            return bytes <= BudgetBytes && Fits(bytes, scan);
        }
    }

    /// <summary>
    /// Removes and returns the value of <paramref name="key"/> when it is a <typeparamref name="T"/>: each value
    /// admitted with <see cref="TryAdmit"/> is read once, and its bytes are free again at once.
    /// </summary>
    public bool TryTake<T>(string key, [NotNullWhen(true)] out T? value)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node) && node.Value.Value is T found)
            {
                RemoveNode(node);
                value = found;
                _hits++;
                return true;
            }

            _misses++;
            value = null;
            return false;
        }
    }

    /// <summary>
    /// The cached chunk of <paramref name="key"/>, or the one <paramref name="load"/> decodes, which is then cached.
    /// Two callers missing the same key at once both decode; the content is the same, so either copy may stay.
    /// </summary>
    public async Task<T> GetOrLoadAsync<T>(string key, Func<CancellationToken, Task<T>> load, CancellationToken cancellationToken)
        where T : class, IDecodedChunk
    {
        ArgumentNullException.ThrowIfNull(load);
        if (TryGet<T>(key, out var cached))
        {
            return cached;
        }

        var chunk = await load(cancellationToken).ConfigureAwait(false);
        Add(key, chunk);
        return chunk;
    }

    /// <summary>
    /// A float buffer of at least <paramref name="length"/> values for a chunk that is to be cached: the smallest pooled
    /// one that fits (returned by <see cref="ReturnBuffer"/> after an earlier chunk was read), else a new one. Reusing
    /// buffers spares the allocation, the page faults of fresh memory and the collector's copying of chunks that live
    /// long. The contents are undefined.
    /// </summary>
    public float[] RentBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        lock (_lock)
        {
            var best = -1;
            for (var i = 0; i < _buffers.Count; i++)
            {
                if (_buffers[i].Length >= length && (best < 0 || _buffers[i].Length < _buffers[best].Length))
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                var buffer = _buffers[best];
                _buffers[best] = _buffers[^1];
                _buffers.RemoveAt(_buffers.Count - 1);
                _pooledBytes -= BufferBytes(buffer);
                return buffer;
            }
        }

        return GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>
    /// Gives a buffer from <see cref="RentBuffer"/> back once nothing reads it any more; it is pooled while the budget
    /// has room beside the cached chunks, otherwise left to the collector.
    /// </summary>
    public void ReturnBuffer(float[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var bytes = BufferBytes(buffer);
        lock (_lock)
        {
            if (_cachedBytes + _pooledBytes + bytes <= BudgetBytes)
            {
                _buffers.Add(buffer);
                _pooledBytes += bytes;
            }
        }
    }

    private static long BufferBytes(float[] buffer) => ((long)buffer.Length * sizeof(float)) + EntryOverheadBytes;

    /// <summary>Drops pooled buffers until <paramref name="bytes"/> more fit beside the cached chunks, or none is left.</summary>
    private void DropBuffersFor(long bytes)
    {
        while (_buffers.Count > 0 && _cachedBytes + _pooledBytes + bytes > BudgetBytes)
        {
            _pooledBytes -= BufferBytes(_buffers[^1]);
            _buffers.RemoveAt(_buffers.Count - 1);
        }
    }

    /// <summary>Whether <paramref name="bytes"/> fit once every entry of another scan and every pooled buffer were gone.</summary>
    private bool Fits(long bytes, string scan)
    {
        long ownScan = 0;
        foreach (var entry in _recency)
        {
            if (string.Equals(entry.Scan, scan, StringComparison.Ordinal))
            {
                ownScan += entry.Bytes;
            }
        }

        return ownScan + bytes <= BudgetBytes;
    }

    private void Insert(Entry entry)
    {
        _entries[entry.Key] = _recency.AddFirst(entry);
        _cachedBytes += entry.Bytes;
    }

    private void RemoveEntry(string key)
    {
        if (_entries.TryGetValue(key, out var existing))
        {
            RemoveNode(existing);
        }
    }

    private void RemoveNode(LinkedListNode<Entry> node)
    {
        _recency.Remove(node);
        _entries.Remove(node.Value.Key);
        _cachedBytes -= node.Value.Bytes;
    }

    /// <summary>A cached value: an <see cref="IDecodedChunk"/> (<paramref name="Scan"/> null) or a statistics pass's chunk.</summary>
    private sealed record Entry(string Key, object Value, long Bytes, string? Scan);
}
