using System.Globalization;
using System.Text;
using Workflows.ML.Data;
using Workflows.ML.Search.Learners;

namespace Workflows.Functions.Search;

/// <summary>
/// Reads a search's dataset into a <see cref="TrainingSet"/> (row-major float features, integer class labels) and
/// keeps the last few in memory, keyed by the content version of every chunk, so the many evaluations of one search
/// decode the files once per worker. A rewritten file gets another key; storage that cannot version a file is read
/// every time.
/// </summary>
public sealed class SearchDataLoader
{
    /// <summary>The most classes a label may name (labels are class indices 0 … MaxClasses − 1).</summary>
    public const int MaxClasses = 1_000;

    private readonly DatasetReader _reader;
    private readonly int _capacity;
    private readonly Lock _gate = new();
    private readonly List<(string Key, Task<TrainingSet> Data)> _recent = [];

    /// <summary>A loader over <paramref name="reader"/> that keeps the <paramref name="capacity"/> most recently loaded datasets.</summary>
    public SearchDataLoader(DatasetReader reader, int capacity = 2)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 0);
        _reader = reader;
        _capacity = capacity;
    }

    /// <summary>The names of the feature columns of <paramref name="data"/>, in the order <see cref="LoadAsync"/> gives them.</summary>
    public async Task<IReadOnlyList<string>> FeatureNamesAsync(SearchDataRef data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        var dataset = await _reader.DescribeAsync(new DatasetSpec(data.Dataset, data.LabelColumn, data.CsvChunkRows), cancellationToken).ConfigureAwait(false);
        return [.. DatasetReader.ResolveColumns(dataset, data.Features).Select(static column => column.Name)];
    }

    /// <summary>
    /// The rows of <paramref name="data"/>. Throws <see cref="DatasetException"/> for a dataset without feature
    /// columns, a missing label or a label that is not a class index.
    /// </summary>
    public async Task<TrainingSet> LoadAsync(SearchDataRef data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        var dataset = await _reader.DescribeAsync(new DatasetSpec(data.Dataset, data.LabelColumn, data.CsvChunkRows), cancellationToken).ConfigureAwait(false);
        var columns = DatasetReader.ResolveColumns(dataset, data.Features);
        if (columns.Count == 0)
        {
            throw new DatasetException($"dataset '{data.Dataset}' has no numeric feature columns.");
        }

        var key = await KeyAsync(dataset, columns, cancellationToken).ConfigureAwait(false);
        if (key is null || _capacity == 0)
        {
            return await ReadAsync(dataset, columns, cancellationToken).ConfigureAwait(false);
        }

        Task<TrainingSet> load;
        lock (_gate)
        {
            var index = _recent.FindIndex(entry => entry.Key == key);
            if (index >= 0)
            {
                load = _recent[index].Data;
                _recent.RemoveAt(index);
            }
            else
            {
                // Shared by every caller of the key, so one caller's cancellation does not fail the others.
                load = ReadAsync(dataset, columns, CancellationToken.None);
            }

            _recent.Add((key, load));
            if (_recent.Count > _capacity)
            {
                _recent.RemoveAt(0);
            }
        }

        try
        {
            return await load.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (load.IsFaulted)
        {
            lock (_gate)
            {
                _ = _recent.RemoveAll(entry => entry.Data == load);
            }

            throw;
        }
    }

    private async Task<string?> KeyAsync(DatasetDescription dataset, IReadOnlyList<DatasetColumn> columns, CancellationToken cancellationToken)
    {
        var key = new StringBuilder();
        foreach (var chunk in dataset.Chunks)
        {
            var chunkKey = await _reader.ChunkContentKeyAsync(dataset, chunk, columns, cancellationToken).ConfigureAwait(false);
            if (chunkKey is null)
            {
                return null;
            }

            key.Append(chunkKey.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(chunkKey);
        }

        return key.ToString();
    }

    private async Task<TrainingSet> ReadAsync(DatasetDescription dataset, IReadOnlyList<DatasetColumn> columns, CancellationToken cancellationToken)
    {
        var rows = checked((int)dataset.RowCount);
        var featureCount = columns.Count;
        var features = new float[checked(rows * featureCount)];
        var labels = new int[rows];
        var maxLabel = 0;
        var offset = 0;
        foreach (var location in dataset.Chunks)
        {
            var chunk = await _reader.ReadChunkAsync(dataset, location, columns, cancellationToken).ConfigureAwait(false);
            var label = chunk.Label ?? throw new DatasetException($"dataset '{dataset.Root}' has no label column '{dataset.LabelColumn}'.");
            for (var c = 0; c < featureCount; c++)
            {
                var column = chunk.Columns[c];
                for (var r = 0; r < chunk.RowCount; r++)
                {
                    features[((offset + r) * featureCount) + c] = (float)column[r];
                }
            }

            for (var r = 0; r < chunk.RowCount; r++)
            {
                var value = label[r];
                if (!(value >= 0 && value < MaxClasses && value == Math.Floor(value)))
                {
                    throw new DatasetException(string.Create(
                        CultureInfo.InvariantCulture,
                        $"label column '{dataset.LabelColumn}' has the value {value} in row {r} of chunk {chunk.Index}; labels must be class indices 0, 1, 2, … below {MaxClasses}."));
                }

                labels[offset + r] = (int)value;
                maxLabel = Math.Max(maxLabel, (int)value);
            }

            offset += chunk.RowCount;
        }

        return new TrainingSet(features, labels, featureCount, Math.Max(2, maxLabel + 1));
    }
}
