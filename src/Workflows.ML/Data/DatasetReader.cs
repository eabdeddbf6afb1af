using System.Globalization;
using Parquet;
using Parquet.Schema;

namespace Workflows.ML.Data;

/// <summary>
/// Describes datasets (schema and chunk list) and reads single chunks. Any worker that can reach the storage can
/// read any chunk from its <see cref="ChunkLocation"/> alone.
/// </summary>
public sealed class DatasetReader
{
    private const string ParquetExtension = ".parquet";
    private const string CsvExtension = ".csv";

    private readonly IDatasetStorage _storage;

    /// <summary>Creates a reader over <paramref name="storage"/>.</summary>
    public DatasetReader(IDatasetStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        _storage = storage;
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
        var isCsv = spec.Path.EndsWith(CsvExtension, StringComparison.OrdinalIgnoreCase);
        var files = await _storage.ListFilesAsync(spec.Path, isCsv ? CsvExtension : ParquetExtension, cancellationToken).ConfigureAwait(false);
        if (!isCsv && files.Count == 0)
        {
            // A folder without Parquet files may be a folder of CSV files.
            files = await _storage.ListFilesAsync(spec.Path, CsvExtension, cancellationToken).ConfigureAwait(false);
            isCsv = files.Count > 0;
        }

        if (files.Count == 0)
        {
            throw new DatasetException($"dataset '{spec.Path}' is empty: it holds no {ParquetExtension} or {CsvExtension} files.");
        }

        var description = isCsv
            ? await DescribeCsvAsync(spec, files, cancellationToken).ConfigureAwait(false)
            : await DescribeParquetAsync(spec, files, footerRanges, cancellationToken).ConfigureAwait(false);
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
                ? await ReadParquetChunkAsync(dataset, chunk, columns, onColumnRead, featureBuffer, cancellationToken).ConfigureAwait(false)
                : await ReadCsvChunkAsync(dataset, chunk, columns, onColumnRead, cancellationToken).ConfigureAwait(false);
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

    private static ColumnType? TypeOf(DataField field)
    {
        if (field.IsArray)
        {
            return null;
        }

        return field.ClrType == typeof(float) ? ColumnType.Float32
            : field.ClrType == typeof(double) ? ColumnType.Float64
            : field.ClrType == typeof(int) ? ColumnType.Int32
            : field.ClrType == typeof(long) ? ColumnType.Int64
            : null;
    }

    private async Task<DatasetDescription> DescribeParquetAsync(
        DatasetSpec spec, IReadOnlyList<string> files, List<ColumnRange?[]>? footerRanges, CancellationToken cancellationToken)
    {
        List<DatasetColumn>? columns = null;
        var nonNumeric = new List<string>();
        var chunks = new List<ChunkLocation>();
        var labelFound = spec.LabelColumn is null;
        foreach (var file in files)
        {
            var stream = await _storage.OpenReadAsync(file, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                ParquetReader reader;
                try
                {
                    reader = await ParquetReader.CreateAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    throw new DatasetException($"'{file}' is not a readable Parquet file: {exception.Message}", exception);
                }

                await using (reader.ConfigureAwait(false))
                {
                    var fileColumns = new List<DatasetColumn>();
                    foreach (var field in reader.Schema.GetDataFields())
                    {
                        if (string.Equals(field.Name, spec.LabelColumn, StringComparison.Ordinal))
                        {
                            labelFound = TypeOf(field) is not null
                                ? true
                                : throw new DatasetException($"label column '{field.Name}' of '{file}' is not numeric.");
                        }
                        else if (TypeOf(field) is { } type)
                        {
                            fileColumns.Add(new DatasetColumn(field.Name, type));
                        }
                        else if (columns is null)
                        {
                            nonNumeric.Add(field.Name);
                        }
                    }

                    if (columns is null)
                    {
                        columns = fileColumns;
                    }
                    else if (!columns.SequenceEqual(fileColumns))
                    {
                        throw new DatasetException($"'{file}' has other numeric columns than '{files[0]}'; every file of a dataset needs the same schema.");
                    }

                    var fields = footerRanges is null ? null : FeatureFields(reader.Schema.GetDataFields(), columns);
                    for (var group = 0; group < reader.RowGroupCount; group++)
                    {
                        using var rowGroup = reader.OpenRowGroupReader(group);
                        chunks.Add(new ChunkLocation(chunks.Count, file, group, 0, rowGroup.RowCount));
                        if (fields is not null)
                        {
                            // The row group's column statistics are part of the footer just read: no further IO.
                            var ranges = new ColumnRange?[fields.Length];
                            for (var i = 0; i < fields.Length; i++)
                            {
                                ranges[i] = FooterRange(rowGroup, fields[i]);
                            }

                            footerRanges!.Add(ranges);
                        }
                    }
                }
            }
        }

        if (!labelFound)
        {
            throw new DatasetException($"dataset '{spec.Path}' has no label column '{spec.LabelColumn}'.");
        }

        return new DatasetDescription(spec.Path, DatasetFormat.Parquet, columns ?? [], spec.LabelColumn, chunks) { NonNumericColumns = nonNumeric };
    }

    /// <summary>
    /// A row group's footer range of one column, or null: statistics are optional metadata, so statistics that another
    /// writer encoded in a way the library cannot decode cost the range, never the description of the dataset.
    /// </summary>
    private static ColumnRange? FooterRange(ParquetRowGroupReader rowGroup, DataField field)
    {
        try
        {
            return FooterRanges.RangeOf(rowGroup.GetStatistics(field), rowGroup.RowCount);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The data fields of <paramref name="columns"/>, in that order (each file has them all, checked before).</summary>
    private static DataField[] FeatureFields(DataField[] fields, List<DatasetColumn> columns)
    {
        var result = new DataField[columns.Count];
        for (var i = 0; i < result.Length; i++)
        {
            foreach (var field in fields)
            {
                if (string.Equals(field.Name, columns[i].Name, StringComparison.Ordinal))
                {
                    result[i] = field;
                    break;
                }
            }
        }

        return result;
    }

    private async Task<DatasetDescription> DescribeCsvAsync(DatasetSpec spec, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        if (spec.CsvChunkRows < 1)
        {
            throw new DatasetException($"CSV chunk rows must be at least 1, not {spec.CsvChunkRows}.");
        }

        string[]? header = null;
        var chunks = new List<ChunkLocation>();
        foreach (var file in files)
        {
            var stream = await _storage.OpenReadAsync(file, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var (fileHeader, dataStart) = await CsvScanner.ReadHeaderAsync(stream, cancellationToken).ConfigureAwait(false);
                if (header is null)
                {
                    header = fileHeader;
                }
                else if (!header.SequenceEqual(fileHeader, StringComparer.Ordinal))
                {
                    throw new DatasetException($"'{file}' has another header than '{files[0]}'; every file of a dataset needs the same columns.");
                }

                stream.Position = dataStart;
                foreach (var (offset, rows) in await CsvScanner.CutAsync(stream, spec.CsvChunkRows, cancellationToken).ConfigureAwait(false))
                {
                    chunks.Add(new ChunkLocation(chunks.Count, file, 0, offset, rows));
                }
            }
        }

        header ??= [];
        if (spec.LabelColumn is not null && !header.Contains(spec.LabelColumn, StringComparer.Ordinal))
        {
            throw new DatasetException($"dataset '{spec.Path}' has no label column '{spec.LabelColumn}'.");
        }

        var columns = new List<DatasetColumn>();
        foreach (var name in header)
        {
            if (!string.Equals(name, spec.LabelColumn, StringComparison.Ordinal))
            {
                columns.Add(new DatasetColumn(name, ColumnType.Float64));
            }
        }

        return new DatasetDescription(spec.Path, DatasetFormat.Csv, columns, spec.LabelColumn, chunks);
    }

    private static void Hand(Action<int, ChunkColumn>? onColumnRead, int index, ChunkColumn column)
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

    private async Task<DecodedChunk> ReadParquetChunkAsync(
        DatasetDescription dataset, ChunkLocation chunk, IReadOnlyList<DatasetColumn> columns, Action<int, ChunkColumn>? onColumnRead, float[]? featureBuffer, CancellationToken cancellationToken)
    {
        var stream = await _storage.OpenReadAsync(chunk.File, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var reader = await ParquetReader.CreateAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            if (chunk.RowGroup >= reader.RowGroupCount)
            {
                throw new DatasetException($"chunk {chunk.Index}: '{chunk.File}' has {reader.RowGroupCount} row groups, not {chunk.RowGroup + 1}; the dataset changed after it was described.");
            }

            using var rowGroup = reader.OpenRowGroupReader(chunk.RowGroup);
            var rows = checked((int)rowGroup.RowCount);
            var fields = reader.Schema.GetDataFields();
            var result = new ChunkColumn[columns.Count];
            var buffer = FitsBuffer(featureBuffer, columns, rows) ? featureBuffer : null;
            for (var i = 0; i < columns.Count; i++)
            {
                result[i] = await ParquetColumnReader.ReadAsync(rowGroup, Field(fields, columns[i].Name, chunk), columns[i].Type, rows, buffer, i * rows, cancellationToken).ConfigureAwait(false);
                Hand(onColumnRead, i, result[i]);
            }

            ChunkColumn? label = null;
            if (dataset.LabelColumn is { } labelName)
            {
                var field = Field(fields, labelName, chunk);
                var type = TypeOf(field) ?? throw new DatasetException($"label column '{labelName}' of '{chunk.File}' is not numeric.");
                label = await ParquetColumnReader.ReadAsync(rowGroup, field, type == ColumnType.Float32 ? ColumnType.Float64 : type, rows, null, 0, cancellationToken).ConfigureAwait(false);
            }

            return new DecodedChunk(chunk.Index, rows, result, label);
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

    private static DataField Field(DataField[] fields, string name, ChunkLocation chunk)
    {
        foreach (var field in fields)
        {
            if (string.Equals(field.Name, name, StringComparison.Ordinal))
            {
                return field;
            }
        }

        throw new DatasetException($"chunk {chunk.Index}: '{chunk.File}' has no column '{name}'.");
    }

    private async Task<DecodedChunk> ReadCsvChunkAsync(
        DatasetDescription dataset, ChunkLocation chunk, IReadOnlyList<DatasetColumn> columns, Action<int, ChunkColumn>? onColumnRead, CancellationToken cancellationToken)
    {
        var stream = await _storage.OpenReadAsync(chunk.File, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var (header, _) = await CsvScanner.ReadHeaderAsync(stream, cancellationToken).ConfigureAwait(false);
            var rows = checked((int)chunk.Rows);
            var hasLabel = dataset.LabelColumn is not null;
            var targets = new double[columns.Count + (hasLabel ? 1 : 0)][];
            var names = new string[targets.Length];
            var targetOfField = new int[header.Length];
            Array.Fill(targetOfField, -1);
            for (var i = 0; i < targets.Length; i++)
            {
                names[i] = i < columns.Count ? columns[i].Name : dataset.LabelColumn!;
                var field = Array.IndexOf(header, names[i]);
                if (field < 0)
                {
                    throw new DatasetException($"chunk {chunk.Index}: '{chunk.File}' has no column '{names[i]}'.");
                }

                targetOfField[field] = i;
                targets[i] = new double[rows];
            }

            stream.Position = chunk.ByteOffset;
            await new CsvChunkParser(chunk, header.Length, targetOfField, names, targets).ParseAsync(stream, cancellationToken).ConfigureAwait(false);
            var labels = hasLabel ? targets[^1] : null;
            var result = new ChunkColumn[columns.Count];
            for (var i = 0; i < columns.Count; i++)
            {
                result[i] = new ChunkColumn(columns[i].Name, ColumnType.Float64, targets[i]);
                Hand(onColumnRead, i, result[i]);
            }

            return new DecodedChunk(chunk.Index, rows, result, labels is null ? null : new ChunkColumn(dataset.LabelColumn!, ColumnType.Float64, labels));
        }
    }
}
