using Microsoft.Extensions.Logging;
using Parquet;
using Parquet.Schema;

namespace Workflows.ML.Data;

/// <summary>
/// The Parquet half of <see cref="DatasetReader"/>: describes a dataset of Parquet files (a chunk per row group, and
/// each row group's footer ranges when asked) and decodes one row group's columns, each after its page checksums are
/// verified (<see cref="PageChecksums"/>) and checked against its footer (<see cref="FooterCheck"/>). Footer statistics
/// it cannot decode are logged through <paramref name="logger"/>.
/// </summary>
internal sealed class ParquetDatasetReader(IDatasetStorage storage, ILogger logger)
{
    /// <summary>The file extension of a Parquet dataset's files.</summary>
    public const string Extension = ".parquet";

    /// <summary>
    /// The description of the Parquet dataset of <paramref name="files"/>; when <paramref name="footerRanges"/> is
    /// given, a row per chunk is added to it with each feature column's range from the row group's statistics.
    /// </summary>
    public async Task<DatasetDescription> DescribeAsync(
        DatasetSpec spec, IReadOnlyList<string> files, List<ColumnRange?[]>? footerRanges, CancellationToken cancellationToken)
    {
        List<DatasetColumn>? columns = null;
        var nonNumeric = new List<string>();
        var chunks = new List<ChunkLocation>();
        var labelFound = spec.LabelColumn is null;

        // Footer statistics that cannot be decoded cost their ranges only; they are logged once per dataset.
        var unreadable = 0;
        (Exception Error, string File)? firstUnreadable = null;
        foreach (var file in files)
        {
            var stream = await storage.OpenReadAsync(file, cancellationToken).ConfigureAwait(false);
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
                                ranges[i] = FooterRange(rowGroup, fields[i], out var error);
                                if (error is not null)
                                {
                                    unreadable++;
                                    firstUnreadable ??= (error, file);
                                }
                            }

                            footerRanges!.Add(ranges);
                        }
                    }
                }
            }
        }

        if (firstUnreadable is { } first)
        {
            MlLog.FooterStatisticsUnreadable(logger, first.Error, spec.Path, unreadable, first.File);
        }

        if (!labelFound)
        {
            throw new DatasetException($"dataset '{spec.Path}' has no label column '{spec.LabelColumn}'.");
        }

        return new DatasetDescription(spec.Path, DatasetFormat.Parquet, columns ?? [], spec.LabelColumn, chunks) { NonNumericColumns = nonNumeric };
    }

    /// <summary>
    /// Decodes <paramref name="columns"/> and the label of the row group <paramref name="chunk"/> names, into
    /// <paramref name="featureBuffer"/> when it fits (see <see cref="DatasetReader.FitsBuffer"/>).
    /// </summary>
    public async Task<DecodedChunk> ReadChunkAsync(
        DatasetDescription dataset, ChunkLocation chunk, IReadOnlyList<DatasetColumn> columns, Action<int, ChunkColumn>? onColumnRead, float[]? featureBuffer, CancellationToken cancellationToken)
    {
        var stream = await storage.OpenReadAsync(chunk.File, cancellationToken).ConfigureAwait(false);
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
            var buffer = DatasetReader.FitsBuffer(featureBuffer, columns, rows) ? featureBuffer : null;
            reader.CustomMetadata.TryGetValue(FooterCheck.NanCountsKey, out var nanCountsText);
            var nanCounts = FooterCheck.NanCounts(chunk, nanCountsText);

            // In a file that states page checksums, each column's pages are verified before it is decoded, so damage
            // the writer's CRCs catch fails as such and never reaches a value.
            using var checksums = new PageChecksums();
            bool? verify = null;
            for (var i = 0; i < columns.Count; i++)
            {
                var field = Field(fields, columns[i].Name, chunk);
                var metadata = rowGroup.GetMetadata(field)?.MetaData;
                verify ??= await checksums.StatesChecksumsAsync(stream, chunk, field.Name, metadata, cancellationToken).ConfigureAwait(false);
                if (verify.Value)
                {
                    await checksums.VerifyAsync(stream, chunk, field.Name, metadata, cancellationToken).ConfigureAwait(false);
                }

                (result[i], var nulls) = await ParquetColumnReader.ReadAsync(rowGroup, field, columns[i].Type, rows, buffer, i * rows, cancellationToken).ConfigureAwait(false);
                FooterCheck.Check(chunk, result[i], nulls, Statistics(rowGroup, field), FooterCheck.NanCount(chunk, nanCounts, Array.IndexOf(fields, field)));
                DatasetReader.Hand(onColumnRead, i, result[i]);
            }

            ChunkColumn? label = null;
            if (dataset.LabelColumn is { } labelName)
            {
                var field = Field(fields, labelName, chunk);
                var type = TypeOf(field) ?? throw new DatasetException($"label column '{labelName}' of '{chunk.File}' is not numeric.");
                var metadata = rowGroup.GetMetadata(field)?.MetaData;
                verify ??= await checksums.StatesChecksumsAsync(stream, chunk, field.Name, metadata, cancellationToken).ConfigureAwait(false);
                if (verify.Value)
                {
                    await checksums.VerifyAsync(stream, chunk, field.Name, metadata, cancellationToken).ConfigureAwait(false);
                }

                (label, var nulls) = await ParquetColumnReader.ReadAsDoubleAsync(rowGroup, field, type, rows, cancellationToken).ConfigureAwait(false);
                FooterCheck.Check(chunk, label, nulls, Statistics(rowGroup, field), FooterCheck.NanCount(chunk, nanCounts, Array.IndexOf(fields, field)));
            }

            return new DecodedChunk(chunk.Index, rows, result, label);
        }
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

    /// <summary>
    /// A row group's footer range of one column, or null: statistics are optional metadata, so statistics that another
    /// writer encoded in a way the library cannot decode cost the range (the failure is handed back in
    /// <paramref name="error"/> for the log), never the description of the dataset.
    /// </summary>
    private static ColumnRange? FooterRange(ParquetRowGroupReader rowGroup, DataField field, out Exception? error) =>
        FooterRanges.RangeOf(Statistics(rowGroup, field, out error), rowGroup.RowCount);

    /// <summary>
    /// A row group's statistics of one column, or null when there are none or the library cannot decode them (the
    /// description logged that already): the decoded values are then not checked against them.
    /// </summary>
    private static Parquet.Data.DataColumnStatistics? Statistics(ParquetRowGroupReader rowGroup, DataField field) => Statistics(rowGroup, field, out _);

    private static Parquet.Data.DataColumnStatistics? Statistics(ParquetRowGroupReader rowGroup, DataField field, out Exception? error)
    {
        error = null;
        try
        {
            return rowGroup.GetStatistics(field);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            error = exception;
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

    private static DataField Field(DataField[] fields, string name, ChunkLocation chunk)
    {
        foreach (var field in fields)
        {
            if (string.Equals(field.Name, name, StringComparison.Ordinal))
            {
                return field;
            }
        }

        throw DatasetReader.NoSuchColumn(chunk, name);
    }
}
