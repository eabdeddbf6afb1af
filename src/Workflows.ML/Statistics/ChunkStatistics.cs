using System.Buffers;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Kernels;
using Workflows.ML.Numerics;
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
    /// First pass over <see cref="ChunkGroup.Chunks"/>: moments, label counts and, as <paramref name="request"/>
    /// asks, quantile sketches, histograms over the given ranges (exactly as the second pass counts over a first pass's
    /// range, into <see cref="FirstPassPartial.Histograms"/>; see <see cref="FirstPassHistograms"/>) and the decoded
    /// feature columns kept for <see cref="ComputeHistogramsAsync"/>. Chunks that are not kept are decoded into one
    /// pooled buffer reused across the group when every column is float32, so the pass allocates no column arrays.
    /// </summary>
    public static async Task<FirstPassPartial> ComputeMomentsAsync(FirstPassRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Group, nameof(request));
        var (reader, dataset, chunks, columns) = request.Group;
        var (kernel, sketchCapacity, histogramRanges, keepForSecondPass) = (request.Kernel, request.SketchCapacity, request.HistogramRanges, request.KeepForSecondPass);
        ArgumentNullException.ThrowIfNull(reader, nameof(request));
        ArgumentNullException.ThrowIfNull(chunks, nameof(request));
        ArgumentNullException.ThrowIfNull(columns, nameof(request));
        if (histogramRanges is not null && histogramRanges.Count != columns.Count)
        {
            throw new ArgumentException($"{histogramRanges.Count} histogram ranges for {columns.Count} columns.", nameof(request));
        }

        // The histograms are counted into a pooled buffer and become the partial's only at the end (see HistogramCounter).
        using var histograms = histogramRanges is null ? null : new HistogramCounter(histogramRanges, request.Bins, request.Subdivisions);
        var partial = FirstPassPartial.Create(Names(columns), sketchCapacity is not null, sketchCapacity ?? QuantileSketch.DefaultCapacity);

        // Scratch for the chunks that are not kept: float32 features decode into it, one chunk after the other, instead
        // of into new arrays per column and chunk. Sized for the group's largest chunk; rented when first needed.
        var scratchLength = ScratchLength(chunks, columns);
        float[]? scratch = null;
        try
        {
            foreach (var chunk in chunks)
            {
                // Nothing to keep when the storage cannot version the file or the scan's share of the budget is full.
                var key = keepForSecondPass is not null && keepForSecondPass.Cache.WouldAdmit(EstimatedSize(chunk, columns), keepForSecondPass.Scan)
                    ? await SecondPassKeyAsync(reader, dataset, chunk, columns, cancellationToken).ConfigureAwait(false)
                    : null;

                // A chunk to keep is decoded into a buffer the cache reuses (float32 features, the usual case); one that is
                // not kept into the scratch buffer, which is free again once its columns are reduced.
                var buffer = key is not null && chunk.Rows * columns.Count <= Array.MaxLength && columns.All(static c => c.Type == ColumnType.Float32)
                    ? keepForSecondPass!.Cache.RentBuffer((int)(chunk.Rows * columns.Count))
                    : null;
                if (key is null && scratchLength > 0)
                {
                    scratch ??= ArrayPool<float>.Shared.Rent(scratchLength);
                }

                // Each column is reduced as soon as it is decoded, while it is still in the CPU cache.
                var data = await reader.ReadChunkAsync(
                    dataset,
                    chunk,
                    columns,
                    (i, column) =>
                    {
                        partial.AddColumn(i, column, kernel);
                        histograms?.AddColumn(i, column, kernel);
                    },
                    key is null ? scratch : buffer,
                    cancellationToken).ConfigureAwait(false);
                partial.CompleteChunk(data);
                histograms?.CompleteChunk(data);
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
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<float>.Shared.Return(scratch);
            }
        }

        return histograms is null ? partial : partial.WithHistograms(histograms.ToPartial());
    }

    /// <summary>
    /// Floats of a scratch buffer that holds any of <paramref name="chunks"/> (rows × columns of the largest), or 0
    /// when the columns are not all float32 (they decode into arrays of their own) or the chunk is too large for one array.
    /// </summary>
    private static int ScratchLength(IReadOnlyList<ChunkLocation> chunks, IReadOnlyList<DatasetColumn> columns)
    {
        foreach (var column in columns)
        {
            if (column.Type != ColumnType.Float32)
            {
                return 0;
            }
        }

        long largest = 0;
        foreach (var chunk in chunks)
        {
            largest = Math.Max(largest, chunk.Rows * columns.Count);
        }

        return largest <= Array.MaxLength ? (int)largest : 0;
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
    private static long EstimatedSize(ChunkLocation chunk, IReadOnlyList<DatasetColumn> columns)
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
        DatasetReader reader, DatasetDescription dataset, ChunkLocation chunk, IReadOnlyList<DatasetColumn> columns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(dataset);
        var key = await reader.ChunkContentKeyAsync(dataset with { LabelColumn = null }, chunk, columns, cancellationToken).ConfigureAwait(false);
        return key is null ? null : "statistics|" + key;
    }

    /// <summary>
    /// Second pass: histogram counts of <see cref="ChunkGroup.Chunks"/> over the ranges the first pass found, each
    /// bin counted as <see cref="SecondPassRequest.Subdivisions"/> fine bins (see <see cref="HistogramPartial"/>). Chunks
    /// that the first pass kept in <see cref="SecondPassRequest.Cache"/> are taken from it (under
    /// <see cref="SecondPassRequest.KeptColumns"/>, of which this pass's columns are picked), the others decoded.
    /// </summary>
    public static async Task<HistogramPartial> ComputeHistogramsAsync(SecondPassRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Group, nameof(request));
        var (reader, dataset, chunks, columns) = request.Group;
        var (kernel, cache, keptColumns) = (request.Kernel, request.Cache, request.KeptColumns);
        ArgumentNullException.ThrowIfNull(reader, nameof(request));
        ArgumentNullException.ThrowIfNull(chunks, nameof(request));
        ArgumentNullException.ThrowIfNull(dataset, nameof(request));
        ArgumentNullException.ThrowIfNull(columns, nameof(request));
        using var counter = new HistogramCounter(HistogramPartial.RangesOf(request.FirstPassMoments), request.Bins, request.Subdivisions);
        var picked = keptColumns is null ? null : Positions(columns, keptColumns);

        // The labels were counted in the first pass: do not decode them again.
        var features = dataset with { LabelColumn = null };
        var cached = new List<CachedChunk>();
        var missed = new List<ChunkLocation>();
        foreach (var chunk in chunks)
        {
            // The first pass's decode when it is still cached (taken: each chunk is read once per pass), else decoded.
            var key = cache is null ? null : await SecondPassKeyAsync(reader, dataset, chunk, keptColumns ?? columns, cancellationToken).ConfigureAwait(false);
            if (key is not null && cache!.Cache.TryTake<CachedChunk>(key, out var hit))
            {
                // Only this pass's columns of what the first pass kept (the buffer goes back to the cache all the same).
                var view = picked is null ? hit : hit with { Chunk = hit.Chunk with { Columns = Pick(hit.Chunk, picked, keptColumns!.Count) } };
                ChunkAccumulator.CheckColumns(counter, view.Chunk);
                cached.Add(view);
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
                counter.AddColumn(i, chunk.Chunk.Columns[i], kernel);
            }
        }

        foreach (var chunk in cached)
        {
            counter.CompleteChunk(chunk.Chunk);

            // Read once: the buffer is the next kept chunk's.
            if (chunk.Buffer is not null)
            {
                cache!.Cache.ReturnBuffer(chunk.Buffer);
            }
        }

        foreach (var chunk in missed)
        {
            var data = await reader.ReadChunkAsync(features, chunk, columns, (i, column) => counter.AddColumn(i, column, kernel), cancellationToken).ConfigureAwait(false);
            counter.CompleteChunk(data);
        }

        return counter.ToPartial();
    }

    /// <summary>The index in <paramref name="kept"/> of each of <paramref name="columns"/>.</summary>
    private static int[] Positions(IReadOnlyList<DatasetColumn> columns, IReadOnlyList<DatasetColumn> kept)
    {
        var positions = new int[columns.Count];
        for (var i = 0; i < positions.Length; i++)
        {
            var k = 0;
            while (k < kept.Count && kept[k] != columns[i])
            {
                k++;
            }

            positions[i] = k < kept.Count
                ? k
                : throw new ArgumentException($"column '{columns[i].Name}' is not one of the columns the first pass kept.", nameof(columns));
        }

        return positions;
    }

    /// <summary>The columns at <paramref name="positions"/> of a kept chunk of <paramref name="keptCount"/> columns.</summary>
    private static ChunkColumn[] Pick(DecodedChunk chunk, int[] positions, int keptCount)
    {
        if (chunk.Columns.Count != keptCount)
        {
            throw new ArgumentException($"chunk {chunk.Index} was kept with {chunk.Columns.Count} columns, not {keptCount}.", nameof(chunk));
        }

        var columns = new ChunkColumn[positions.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            columns[i] = chunk.Columns[positions[i]];
        }

        return columns;
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
