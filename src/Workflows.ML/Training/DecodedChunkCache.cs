using System.Diagnostics.CodeAnalysis;

namespace Workflows.ML.Training;

/// <summary>
/// A per-process cache of decoded chunks, bounded by a byte budget and evicting the least recently used chunk first,
/// so the second and later epochs of a training run on the same worker skip Parquet or CSV decoding. Keys are the
/// caller's: they must name everything the decoded content depends on (the EpochTraining activities include the run,
/// so a dataset rewritten between runs is never served stale). Thread-safe; cached chunks are shared read-only.
/// </summary>
public sealed class DecodedChunkCache
{
    // Per-entry bookkeeping (key, node, record) counted against the budget besides the arrays themselves.
    private const long EntryOverheadBytes = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, TrainingChunk Chunk, long Bytes)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, TrainingChunk Chunk, long Bytes)> _recency = new();
    private long _cachedBytes;
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

    /// <summary>Bytes held now (never above <see cref="BudgetBytes"/>).</summary>
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

    /// <summary>The bytes a chunk costs against the budget.</summary>
    public static long SizeOf(TrainingChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        return ((long)chunk.Features.Length * sizeof(float)) + ((long)chunk.Labels.Length * sizeof(int)) + EntryOverheadBytes;
    }

    /// <summary>The cached chunk of <paramref name="key"/>, marked as most recently used.</summary>
    public bool TryGet(string key, [NotNullWhen(true)] out TrainingChunk? chunk)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                chunk = node.Value.Chunk;
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
    public void Add(string key, TrainingChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(key);
        var bytes = SizeOf(chunk);
        if (bytes > BudgetBytes)
        {
            return;
        }

        lock (_lock)
        {
            if (_entries.Remove(key, out var existing))
            {
                _recency.Remove(existing);
                _cachedBytes -= existing.Value.Bytes;
            }

            while (_cachedBytes + bytes > BudgetBytes)
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _entries.Remove(oldest.Value.Key);
                _cachedBytes -= oldest.Value.Bytes;
            }

            _entries[key] = _recency.AddFirst((key, chunk, bytes));
            _cachedBytes += bytes;
        }
    }

    /// <summary>
    /// The cached chunk of <paramref name="key"/>, or the one <paramref name="load"/> decodes, which is then cached.
    /// Two callers missing the same key at once both decode; the content is the same, so either copy may stay.
    /// </summary>
    public async Task<TrainingChunk> GetOrLoadAsync(string key, Func<CancellationToken, Task<TrainingChunk>> load, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(load);
        if (TryGet(key, out var cached))
        {
            return cached;
        }

        var chunk = await load(cancellationToken).ConfigureAwait(false);
        Add(key, chunk);
        return chunk;
    }
}
