namespace Workflows.ML.Data;

/// <summary>
/// The CSV half of <see cref="DatasetReader"/>: describes a dataset of CSV files (cut into chunks of
/// <see cref="DatasetSpec.CsvChunkRows"/> rows, every column float64) and parses one chunk's columns.
/// </summary>
internal sealed class CsvDatasetReader(IDatasetStorage storage)
{
    /// <summary>The file extension of a CSV dataset's files.</summary>
    public const string Extension = ".csv";

    /// <summary>The description of the CSV dataset of <paramref name="files"/>, which share one header.</summary>
    public async Task<DatasetDescription> DescribeAsync(DatasetSpec spec, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        if (spec.CsvChunkRows < 1)
        {
            throw new DatasetException($"CSV chunk rows must be at least 1, not {spec.CsvChunkRows}.");
        }

        string[]? header = null;
        var chunks = new List<ChunkLocation>();
        foreach (var file in files)
        {
            var stream = await storage.OpenReadAsync(file, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Parses <paramref name="columns"/> and the label of the rows <paramref name="chunk"/> names, each into an array of its own.</summary>
    public async Task<DecodedChunk> ReadChunkAsync(
        DatasetDescription dataset, ChunkLocation chunk, IReadOnlyList<DatasetColumn> columns, Action<int, ChunkColumn>? onColumnRead, CancellationToken cancellationToken)
    {
        var stream = await storage.OpenReadAsync(chunk.File, cancellationToken).ConfigureAwait(false);
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
                    throw DatasetReader.NoSuchColumn(chunk, names[i]);
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
                DatasetReader.Hand(onColumnRead, i, result[i]);
            }

            return new DecodedChunk(chunk.Index, rows, result, labels is null ? null : new ChunkColumn(dataset.LabelColumn!, ColumnType.Float64, labels));
        }
    }
}
