using System.Text.Json.Serialization;

namespace Workflows.ML.Monitoring;

/// <summary>
/// Values of a sample counted into a <see cref="ReferenceProfile"/>'s bins, per feature and for the prediction, with
/// NaN counted apart. Counts add, so counts of disjoint batches merge exactly in any order; serializable as JSON so
/// that an activity can return them.
/// </summary>
public sealed class BinCounts
{
    private readonly long[][] _counts;
    private readonly long[] _missing;

    /// <summary>Restores serialized counts.</summary>
    [JsonConstructor]
    public BinCounts(IReadOnlyList<long[]> counts, IReadOnlyList<long> missing, long rows)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(missing);
        if (counts.Count != missing.Count)
        {
            throw new ArgumentException($"{counts.Count} count rows and {missing.Count} missing counts.", nameof(missing));
        }

        _counts = [.. counts.Select(row => (long[])row.Clone())];
        _missing = [.. missing];
        Rows = rows;
    }

    /// <summary>Bin counts per column: the features, then the prediction.</summary>
    public IReadOnlyList<long[]> Counts => _counts;

    /// <summary>NaN values per column: the features, then the prediction.</summary>
    public IReadOnlyList<long> Missing => _missing;

    /// <summary>Rows counted.</summary>
    public long Rows { get; private set; }

    /// <summary>Empty counts with the bins of <paramref name="profile"/>.</summary>
    public static BinCounts For(ReferenceProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        return new BinCounts([.. profile.Columns.Select(column => new long[column.Bins])], new long[profile.Features.Count + 1], 0);
    }

    /// <summary>Counts one batch: one array per feature (the profile's feature order) and the prediction of each row.</summary>
    public void Add(ReferenceProfile profile, IReadOnlyList<float[]> features, ReadOnlySpan<float> predictions)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(features);
        EnsureFits(profile);
        if (features.Count != profile.Features.Count)
        {
            throw new ArgumentException($"a batch of {features.Count} feature columns for a profile of {profile.Features.Count} features.", nameof(features));
        }

        for (var i = 0; i < features.Count; i++)
        {
            if (features[i].Length != predictions.Length)
            {
                throw new ArgumentException($"feature '{profile.Features[i].Name}' has {features[i].Length} rows and the predictions {predictions.Length}.", nameof(features));
            }
        }

        for (var i = 0; i < features.Count; i++)
        {
            _missing[i] += ReferenceBins.Count(profile.Features[i].Edges, features[i], _counts[i]);
        }

        _missing[^1] += ReferenceBins.Count(profile.Prediction.Edges, predictions, _counts[^1]);
        Rows += predictions.Length;
    }

    /// <summary>Adds <paramref name="other"/> (counts of the same bins) to these counts.</summary>
    public void Merge(BinCounts other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._counts.Length != _counts.Length || other._counts.Where((row, c) => row.Length != _counts[c].Length).Any())
        {
            throw new ArgumentException("cannot merge counts of other bins.", nameof(other));
        }

        for (var c = 0; c < _counts.Length; c++)
        {
            for (var b = 0; b < _counts[c].Length; b++)
            {
                _counts[c][b] += other._counts[c][b];
            }

            _missing[c] += other._missing[c];
        }

        Rows += other.Rows;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless these counts have the bins of <paramref name="profile"/>.</summary>
    internal void EnsureFits(ReferenceProfile profile)
    {
        var columns = profile.Columns.ToArray();
        if (columns.Length != _counts.Length)
        {
            throw new ArgumentException($"counts of {_counts.Length - 1} features for a profile of {columns.Length - 1}.");
        }

        for (var c = 0; c < columns.Length; c++)
        {
            if (columns[c].Bins != _counts[c].Length)
            {
                throw new ArgumentException($"column '{columns[c].Name}' has {columns[c].Bins} bins in the profile and {_counts[c].Length} in the counts.");
            }
        }
    }
}
