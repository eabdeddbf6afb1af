using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Workflows.ML.Data;

/// <summary>
/// Describes datasets (schema and chunk list) and reads single chunks. Any worker that can reach the storage can
/// read any chunk from its <see cref="ChunkLocation"/> alone. The reader picks the format (from the path, else from
/// the files it finds) and leaves each format's describing and decoding to <see cref="ParquetDatasetReader"/> or
/// <see cref="CsvDatasetReader"/>; what holds for every format (corrupt-chunk errors, the hand-off to the caller's
/// column consumer, content keys, column resolution) stays here.
/// </summary>
public sealed class DatasetReader
{
    private readonly IDatasetStorage _storage;
    private readonly ParquetDatasetReader _parquet;
    private readonly CsvDatasetReader _csv;

    /// <summary>
    /// Creates a reader over <paramref name="storage"/>. Failures it handles without failing the call (Parquet footer
    /// statistics it cannot decode) are logged through <paramref name="logger"/> (default: none).
    /// </summary>
    public DatasetReader(IDatasetStorage storage, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        _storage = storage;
        _parquet = new ParquetDatasetReader(storage, logger ?? NullLogger.Instance);
        _csv = new CsvDatasetReader(storage);
    }

    /// <summary>
    /// Finds the schema and the chunks of a dataset. Throws <see cref="DatasetException"/> for a missing or empty
    /// dataset, files whose schemas differ, or a label column that is not there.
    /// </summary>
    public async Task<DatasetDescription> DescribeAsync(DatasetSpec spec, CancellationToken cancellationToken) =>
        (await DescribeCoreAsync(spec, footerRanges: null, cancellationToken).ConfigureAwait(false)).Dataset;

    /// <summary>
    /// Describes the dataset like <see cref="DescribeAsync(DatasetSpec, CancellationToken)"/> and, from the same footer
    /// reads (no file is opened twice), each chunk's range of each numeric feature column as the Parquet row-group
    /// statistics state it. CSV files have no such statistics: every range is then null.
    /// </summary>
    public async Task<(DatasetDescription Dataset, FooterRanges Ranges)> DescribeWithFooterRangesAsync(DatasetSpec spec, CancellationToken cancellationToken)
    {
        var ranges = new List<ColumnRange?[]>();
        var (dataset, parquet) = await DescribeCoreAsync(spec, ranges, cancellationToken).ConfigureAwait(false);
        return (dataset, parquet ? FooterRanges.FromChunks(dataset.Columns, ranges) : FooterRanges.None(dataset));
    }

    /// <summary>The description, and whether the dataset is Parquet (then <paramref name="footerRanges"/>, when given, holds a row per chunk).</summary>
    private async Task<(DatasetDescription Dataset, bool Parquet)> DescribeCoreAsync(DatasetSpec spec, List<ColumnRange?[]>? footerRanges, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var isCsv = spec.Path.EndsWith(CsvDatasetReader.Extension, StringComparison.OrdinalIgnoreCase);
        var files = await _storage.ListFilesAsync(spec.Path, isCsv ? CsvDatasetReader.Extension : ParquetDatasetReader.Extension, cancellationToken).ConfigureAwait(false);
        if (!isCsv && files.Count == 0)
        {
            // A folder without Parquet files may be a folder of CSV files.
            files = await _storage.ListFilesAsync(spec.Path, CsvDatasetReader.Extension, cancellationToken).ConfigureAwait(false);
            isCsv = files.Count > 0;
        }

        if (files.Count == 0)
        {
            throw new DatasetException($"dataset '{spec.Path}' is empty: it holds no {ParquetDatasetReader.Extension} or {CsvDatasetReader.Extension} files.");
        }

        var description = isCsv
            ? await _csv.DescribeAsync(spec, files, cancellationToken).ConfigureAwait(false)
            : await _parquet.DescribeAsync(spec, files, footerRanges, cancellationToken).ConfigureAwait(false);
        if (description.RowCount == 0)
        {
            throw new DatasetException($"dataset '{spec.Path}' is empty: it has no rows.");
        }

        return (description, !isCsv);
    }

    /// <summary>
    /// Reads <paramref name="columns"/> (all feature columns when <see langword="null"/>) and the label of one chunk.
    /// Throws <see cref="DatasetException"/> naming the chunk, file and row group when the chunk cannot be decoded.
    /// </summary>
    public Task<DecodedChunk> ReadChunkAsync(
        DatasetDescription dataset,
        ChunkLocation chunk,
        IReadOnlyList<DatasetColumn>? columns,
        CancellationToken cancellationToken) =>
        ReadChunkAsync(dataset, chunk, columns, null, cancellationToken);

    /// <summary>
    /// Reads a chunk like <see cref="ReadChunkAsync(DatasetDescription, ChunkLocation, IReadOnlyList{DatasetColumn}?, CancellationToken)"/>
    /// and hands each feature column to <paramref name="onColumnRead"/> (with its index in <paramref name="columns"/>)
    /// as soon as it is decoded, while its values are still in the CPU cache.
    /// </summary>
    public Task<DecodedChunk> ReadChunkAsync(
        DatasetDescription dataset,
        ChunkLocation chunk,
        IReadOnlyList<DatasetColumn>? columns,
        Action<int, ChunkColumn>? onColumnRead,
        CancellationToken cancellationToken) =>
        ReadChunkAsync(dataset, chunk, columns, onColumnRead, featureBuffer: null, cancellationToken);

    /// <summary>
    /// Reads a chunk like <see cref="ReadChunkAsync(DatasetDescription, ChunkLocation, IReadOnlyList{DatasetColumn}?, Action{int, ChunkColumn}?, CancellationToken)"/>.
    /// When <paramref name="featureBuffer"/> is given, every feature column is float32 and the buffer holds them all
    /// (rows × columns), the columns are decoded into it one after the other (column i from i × rows) instead of into
    /// arrays of their own: a caller that keeps the chunk (a cache) passes a buffer it reuses, so keeping costs no
    /// allocation and nothing for the garbage collector to copy. Otherwise the buffer is not touched.
    /// </summary>
    public async Task<DecodedChunk> ReadChunkAsync(
        DatasetDescription dataset,
        ChunkLocation chunk,
        IReadOnlyList<DatasetColumn>? columns,
        Action<int, ChunkColumn>? onColumnRead,
        float[]? featureBuffer,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(chunk);
        columns ??= dataset.Columns;
        try
        {
            return dataset.Format == DatasetFormat.Parquet
                ? await _parquet.ReadChunkAsync(dataset, chunk, columns, onColumnRead, featureBuffer, cancellationToken).ConfigureAwait(false)
                : await _csv.ReadChunkAsync(dataset, chunk, columns, onColumnRead, cancellationToken).ConfigureAwait(false);
        }
        catch (ColumnConsumerException consumer)
        {
            // The caller's own failure, not a corrupt chunk: rethrow it as it was.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(consumer.InnerException!);
            throw;
        }
        catch (Exception exception) when (exception is not (DatasetException or OperationCanceledException))
        {
            var where = dataset.Format == DatasetFormat.Parquet ? $"row group {chunk.RowGroup} of '{chunk.File}'" : $"'{chunk.File}' at byte {chunk.ByteOffset}";
            throw new DatasetException($"chunk {chunk.Index} ({where}) is corrupt: {exception.Message}", exception);
        }
    }

    /// <summary>
    /// A key that names everything <see cref="ReadChunkAsync(DatasetDescription, ChunkLocation, IReadOnlyList{DatasetColumn}?, CancellationToken)"/>
    /// returns for these arguments: the file's current content version (<see cref="IDatasetStorage.GetContentVersionAsync"/>),
    /// the format, the chunk's place and rows, the columns with their types and the label column. A rewritten file
    /// gets another key, so a cache keyed by it never serves a stale chunk. <see langword="null"/> when the storage
    /// cannot version the file (then nothing decoded from it may be cached).
    /// </summary>
    public async Task<string?> ChunkContentKeyAsync(
        DatasetDescription dataset,
        ChunkLocation chunk,
        IReadOnlyList<DatasetColumn>? columns,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(chunk);
        columns ??= dataset.Columns;
        var version = await _storage.GetContentVersionAsync(chunk.File, cancellationToken).ConfigureAwait(false);
        if (version is null)
        {
            return null;
        }

        var key = new System.Text.StringBuilder(version.Length + 64 + (columns.Count * 8));
        key.Append(version).Append('|').Append(dataset.Format)
            .Append(CultureInfo.InvariantCulture, $"|rg={chunk.RowGroup}|at={chunk.ByteOffset}|rows={chunk.Rows}|label=")
            .Append(dataset.LabelColumn is null ? "-" : "+" + dataset.LabelColumn).Append("|columns=");
        foreach (var column in columns)
        {
            // Lengths first, so that no name can run into the next one.
            key.Append(CultureInfo.InvariantCulture, $"{column.Name.Length}:{column.Name}:{column.Type};");
        }

        return key.ToString();
    }

    /// <summary>
    /// Resolves requested column names against the dataset: every name must be a numeric feature column.
    /// <see langword="null"/> or empty means all feature columns.
    /// </summary>
    public static IReadOnlyList<DatasetColumn> ResolveColumns(DatasetDescription dataset, IReadOnlyList<string>? names)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (names is null || names.Count == 0)
        {
            return dataset.Columns;
        }

        var resolved = new List<DatasetColumn>(names.Count);
        foreach (var name in names)
        {
            var column = FindColumn(dataset.Columns, name);
            if (column is not null && resolved.Contains(column))
            {
                throw new DatasetException($"column '{name}' is asked for twice.");
            }

            if (column is not null)
            {
                resolved.Add(column);
            }
            else if (dataset.NonNumericColumns.Contains(name, StringComparer.Ordinal))
            {
                throw new DatasetException($"column '{name}' of dataset '{dataset.Root}' is not numeric (float32, float64 or int expected).");
            }
            else if (string.Equals(name, dataset.LabelColumn, StringComparison.Ordinal))
            {
                throw new DatasetException($"column '{name}' is the label column of dataset '{dataset.Root}'; its distribution is always reported.");
            }
            else
            {
                throw new DatasetException($"dataset '{dataset.Root}' has no column '{name}'.");
            }
        }

        return resolved;
    }

    private static DatasetColumn? FindColumn(IReadOnlyList<DatasetColumn> columns, string name)
    {
        foreach (var column in columns)
        {
            if (string.Equals(column.Name, name, StringComparison.Ordinal))
            {
                return column;
            }
        }

        return null;
    }

    /// <summary>The error for a column of the dataset that the file of <paramref name="chunk"/> does not have (it changed after it was described).</summary>
    internal static DatasetException NoSuchColumn(ChunkLocation chunk, string name) =>
        new($"chunk {chunk.Index}: '{chunk.File}' has no column '{name}'.");

    /// <summary>
    /// The error for a column of <paramref name="chunk"/> that is damaged: names the chunk, column, row group and file,
    /// then <paramref name="rule"/> (what the column does, and the rule it breaks), never a value.
    /// </summary>
    internal static DatasetException CorruptColumn(ChunkLocation chunk, string column, string rule) =>
        new($"chunk {chunk.Index}: column '{column}' of row group {chunk.RowGroup} of '{chunk.File}' {rule}; the file is corrupt.");

    /// <summary>
    /// Hands a decoded column to the caller's <paramref name="onColumnRead"/>; what it throws is wrapped in a
    /// <see cref="ColumnConsumerException"/>, which ReadChunkAsync unwraps and rethrows as it was (the caller's own
    /// failure, not a corrupt chunk). Every format's reader hands its columns through here.
    /// </summary>
    internal static void Hand(Action<int, ChunkColumn>? onColumnRead, int index, ChunkColumn column)
    {
        try
        {
            onColumnRead?.Invoke(index, column);
        }
        catch (Exception exception)
        {
            throw new ColumnConsumerException(exception);
        }
    }

    /// <summary>Whether the chunk's feature columns go into <paramref name="buffer"/>: all float32, and room for rows × columns.</summary>
    internal static bool FitsBuffer(float[]? buffer, IReadOnlyList<DatasetColumn> columns, int rows)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (buffer is null || (long)rows * columns.Count > buffer.Length)
        {
            return false;
        }

        foreach (var column in columns)
        {
            if (column.Type != ColumnType.Float32)
            {
                return false;
            }
        }

        return true;
    }
}
