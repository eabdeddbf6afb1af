using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Training;

namespace Workflows.ML.Statistics;

/// <summary>
/// The two passes over a group of chunks, as one activity runs them: read each chunk, reduce it with a kernel,
/// fold it into a partial. Chunks are read one at a time, so memory stays at one chunk per group, unless the first
/// pass keeps its decoded feature columns in a <see cref="ChunkCacheScope"/> for the second pass (which then decodes
/// only the chunks that are not there).
/// </summary>
public static class ChunkStatistics
{
    /// <summary>Bookkeeping of a cached column (array header, object) counted against the budget besides its values.</summary>
    private const long ColumnOverheadBytes = 64;

    /// <summary>
    /// First pass: moments, label counts and, when <paramref name="sketchCapacity"/> is given, quantile sketches of
    /// that capacity, over <paramref name="chunks"/>.
    /// </summary>
    public static Task<MomentsPartial> ComputeMomentsAsync(
        DatasetReader reader,
        DatasetDescription dataset,
        IReadOnlyList<DatasetChunk> chunks,
        IReadOnlyList<DatasetColumn> columns,
        int? sketchCapacity,
        IStatisticsKernel kernel,
        CancellationToken cancellationToken) =>
        ComputeMomentsAsync(reader, dataset, chunks, columns, sketchCapacity, kernel, null, cancellationToken);

    /// <summary>
    /// First pass as <see cref="ComputeMomentsAsync(DatasetReader, DatasetDescription, IReadOnlyList{DatasetChunk}, IReadOnlyList{DatasetColumn}, int?, IStatisticsKernel, CancellationToken)"/>,
    /// keeping each chunk's decoded feature columns in <paramref name="keepForSecondPass"/> (when not null, the storage
    /// versions its files and the scan's budget allows) for <see cref="ComputeHistogramsAsync(DatasetReader, DatasetDescription, IReadOnlyList{DatasetChunk}, IReadOnlyList{DatasetColumn}, IReadOnlyList{Moments}, int, int, IStatisticsKernel, ChunkCacheScope?, CancellationToken)"/>.
    /// </summary>
    public static async Task<MomentsPartial> ComputeMomentsAsync(
        DatasetReader reader,
        DatasetDescription dataset,
        IReadOnlyList<DatasetChunk> chunks,
        IReadOnlyList<DatasetColumn> columns,
        int? sketchCapacity,
        IStatisticsKernel kernel,
        ChunkCacheScope? keepForSecondPass,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(columns);
        var partial = MomentsPartial.Create(Names(columns), sketchCapacity is not null, sketchCapacity ?? QuantileSketch.DefaultCapacity);
        foreach (var chunk in chunks)
        {
            // Nothing to keep when the storage cannot version the file or the scan's share of the budget is full.
            var key = keepForSecondPass is not null && keepForSecondPass.Cache.WouldAdmit(EstimatedSize(chunk, columns), keepForSecondPass.Scan)
                ? await SecondPassKeyAsync(reader, dataset, chunk, columns, cancellationToken).ConfigureAwait(false)
                : null;

            // A chunk to keep is decoded into a buffer the cache reuses (float32 features, the usual case).
            var buffer = key is not null && chunk.Rows * columns.Count <= Array.MaxLength && columns.All(static c => c.Type == ColumnType.Float32)
                ? keepForSecondPass!.Cache.RentBuffer((int)(chunk.Rows * columns.Count))
                : null;

            // Each column is reduced as soon as it is decoded, while it is still in the CPU cache.
            var data = await reader.ReadChunkAsync(
                dataset, chunk, columns, (i, column) => partial.AddColumn(i, column, kernel), buffer, cancellationToken).ConfigureAwait(false);
            partial.CompleteChunk(data);
            var usedBuffer = DatasetReader.FitsBuffer(buffer, columns, data.RowCount) ? buffer : null;

            // Kept only when the file did not change while it was decoded: the key read before must still name it.
            var kept = false;
            if (key is not null && string.Equals(key, await SecondPassKeyAsync(reader, dataset, chunk, columns, cancellationToken).ConfigureAwait(false), StringComparison.Ordinal))
            {
                var features = new CachedChunk(data with { Label = null }, usedBuffer);
                kept = keepForSecondPass!.Cache.TryAdmit(key, features, SizeOf(features), keepForSecondPass.Scan);
            }

            // Back to the pool unless the kept chunk lives in it.
            if (buffer is not null && (!kept || usedBuffer is null))
            {
                keepForSecondPass!.Cache.ReturnBuffer(buffer);
            }
        }

        return partial;
    }

    /// <summary>
    /// The bytes a kept chunk costs in a <see cref="DecodedChunkCache"/>: its buffer, or its columns' own arrays, and
    /// per-column and per-entry bookkeeping.
    /// </summary>
    public static long SizeOf(CachedChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        long bytes = chunk.Buffer is null ? 0 : (long)chunk.Buffer.Length * sizeof(float);
        foreach (var column in chunk.Chunk.Columns)
        {
            bytes += ColumnOverheadBytes + (chunk.Buffer is not null ? 0 : (long)column.Length * (column.IsFloat32 ? sizeof(float) : sizeof(double)));
        }

        return DecodedChunkCache.EntryBytes(bytes);
    }

    /// <summary>What a chunk of <paramref name="columns"/> will cost kept (its buffer or arrays, as <see cref="SizeOf"/>), from its row count.</summary>
    private static long EstimatedSize(DatasetChunk chunk, IReadOnlyList<DatasetColumn> columns)
    {
        long bytes = 0;
        foreach (var column in columns)
        {
            bytes += ColumnOverheadBytes + (chunk.Rows * (column.Type == ColumnType.Float32 ? sizeof(float) : sizeof(double)));
        }

        return DecodedChunkCache.EntryBytes(bytes);
    }

    /// <summary>
    /// The cache key of a chunk's feature columns as the second pass reads them (no label): the reader's content key
    /// (file version, place, columns and types), so a rewritten file is never served from the cache.
    /// </summary>
    public static async Task<string?> SecondPassKeyAsync(
        DatasetReader reader, DatasetDescription dataset, DatasetChunk chunk, IReadOnlyList<DatasetColumn> columns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(dataset);
        var key = await reader.ChunkContentKeyAsync(dataset with { LabelColumn = null }, chunk, columns, cancellationToken).ConfigureAwait(false);
        return key is null ? null : "statistics|" + key;
    }

    /// <summary>Second pass without a cache: every chunk is decoded (see the overload with a <see cref="ChunkCacheScope"/>).</summary>
    public static Task<HistogramPartial> ComputeHistogramsAsync(
        DatasetReader reader,
        DatasetDescription dataset,
        IReadOnlyList<DatasetChunk> chunks,
        IReadOnlyList<DatasetColumn> columns,
        IReadOnlyList<Moments> firstPass,
        int bins,
        int subdivisions,
        IStatisticsKernel kernel,
        CancellationToken cancellationToken) =>
        ComputeHistogramsAsync(reader, dataset, chunks, columns, firstPass, bins, subdivisions, kernel, null, cancellationToken);

    /// <summary>
    /// Second pass: histogram counts of <paramref name="chunks"/> over the ranges the first pass found, each of the
    /// <paramref name="bins"/> bins counted as <paramref name="subdivisions"/> fine bins (see <see cref="HistogramPartial"/>).
    /// Chunks that the first pass kept in <paramref name="cache"/> are taken from it, the others decoded.
    /// </summary>
    public static async Task<HistogramPartial> ComputeHistogramsAsync(
        DatasetReader reader,
        DatasetDescription dataset,
        IReadOnlyList<DatasetChunk> chunks,
        IReadOnlyList<DatasetColumn> columns,
        IReadOnlyList<Moments> firstPass,
        int bins,
        int subdivisions,
        IStatisticsKernel kernel,
        ChunkCacheScope? cache,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(columns);
        var partial = HistogramPartial.Create(firstPass, bins, subdivisions);

        // The labels were counted in the first pass: do not decode them again.
        var features = dataset with { LabelColumn = null };
        var cached = new List<CachedChunk>();
        var missed = new List<DatasetChunk>();
        foreach (var chunk in chunks)
        {
            // The first pass's decode when it is still cached (taken: each chunk is read once per pass), else decoded.
            var key = cache is null ? null : await SecondPassKeyAsync(reader, dataset, chunk, columns, cancellationToken).ConfigureAwait(false);
            if (key is not null && cache!.Cache.TryTake<CachedChunk>(key, out var hit))
            {
                ChunkAccumulator.CheckColumns(partial, hit.Chunk);
                cached.Add(hit);
            }
            else
            {
                missed.Add(chunk);
            }
        }

        // Cached chunks column by column: a column's counts (fine bins: 40 KB per column) stay in the CPU cache
        // across the group's chunks instead of being fetched again for every chunk. Counts add, so the order is free.
        for (var i = 0; i < columns.Count; i++)
        {
            foreach (var chunk in cached)
            {
                partial.AddColumn(i, chunk.Chunk.Columns[i], kernel);
            }
        }

        foreach (var chunk in cached)
        {
            partial.CompleteChunk(chunk.Chunk);

            // Read once: the buffer is the next kept chunk's.
            if (chunk.Buffer is not null)
            {
                cache!.Cache.ReturnBuffer(chunk.Buffer);
            }
        }

        foreach (var chunk in missed)
        {
            var data = await reader.ReadChunkAsync(features, chunk, columns, (i, column) => partial.AddColumn(i, column, kernel), cancellationToken).ConfigureAwait(false);
            partial.CompleteChunk(data);
        }

        return partial;
    }

    private static string[] Names(IReadOnlyList<DatasetColumn> columns)
    {
        var names = new string[columns.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = columns[i].Name;
        }

        return names;
    }
}
