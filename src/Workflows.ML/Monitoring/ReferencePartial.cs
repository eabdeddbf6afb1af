using System.Text.Json.Serialization;
using Workflows.ML.Statistics;

namespace Workflows.ML.Monitoring;

/// <summary>
/// The mergeable part of a reference profile: a <see cref="QuantileSketch"/> and a missing-value count per feature
/// and for the model's prediction, over some chunks of the training data. Partials of disjoint chunks merge in any
/// order or grouping (the sketch's rank bound adds up, see <see cref="QuantileSketch"/>); serializable as JSON so that
/// an activity can return one. <see cref="ReferenceProfile.Build"/> turns the merged partial into bin edges.
/// </summary>
public sealed class ReferencePartial
{
    private readonly QuantileSketch[] _sketches;
    private readonly long[] _missing;

    /// <summary>An empty partial for <paramref name="features"/> and one prediction column.</summary>
    /// <param name="features">Feature names, in the order the model reads them.</param>
    /// <param name="sketchCapacity">Items per sketch level (see <see cref="QuantileSketch"/>).</param>
    public ReferencePartial(IReadOnlyList<string> features, int sketchCapacity = QuantileSketch.DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(features);
        EnsureDistinct(features);
        Features = [.. features];
        _sketches = new QuantileSketch[features.Count + 1];
        for (var i = 0; i < _sketches.Length; i++)
        {
            _sketches[i] = new QuantileSketch(sketchCapacity);
        }

        _missing = new long[features.Count + 1];
    }

    /// <summary>Restores a serialized partial.</summary>
    [JsonConstructor]
    public ReferencePartial(IReadOnlyList<string> features, IReadOnlyList<QuantileSketch> sketches, IReadOnlyList<long> missing, long rows)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(sketches);
        ArgumentNullException.ThrowIfNull(missing);
        EnsureDistinct(features);
        if (sketches.Count != features.Count + 1 || missing.Count != features.Count + 1)
        {
            throw new ArgumentException($"a partial of {features.Count} features needs {features.Count + 1} sketches and missing counts (the last for the prediction); got {sketches.Count} and {missing.Count}.");
        }

        Features = [.. features];
        _sketches = [.. sketches];
        _missing = [.. missing];
        Rows = rows;
    }

    /// <summary>Feature names, in order.</summary>
    public IReadOnlyList<string> Features { get; }

    /// <summary>One sketch per feature, then the prediction's.</summary>
    public IReadOnlyList<QuantileSketch> Sketches => _sketches;

    /// <summary>NaN values per feature, then the prediction's.</summary>
    public IReadOnlyList<long> Missing => _missing;

    /// <summary>Rows added.</summary>
    public long Rows { get; private set; }

    /// <summary>Adds one chunk: one array per feature (<see cref="Features"/> order) and the model's prediction for each row.</summary>
    public void AddChunk(IReadOnlyList<float[]> features, ReadOnlySpan<float> predictions)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Count != Features.Count)
        {
            throw new ArgumentException($"a chunk of {features.Count} feature columns for a partial of {Features.Count} features.", nameof(features));
        }

        for (var i = 0; i < features.Count; i++)
        {
            if (features[i].Length != predictions.Length)
            {
                throw new ArgumentException($"feature '{Features[i]}' has {features[i].Length} rows and the predictions {predictions.Length}.", nameof(features));
            }
        }

        for (var i = 0; i < features.Count; i++)
        {
            AddColumn(i, features[i]);
        }

        AddColumn(Features.Count, predictions);
        Rows += predictions.Length;
    }

    /// <summary>Adds the counts and sketches of <paramref name="other"/> (same features, same sketch capacity).</summary>
    public void Merge(ReferencePartial other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!other.Features.SequenceEqual(Features, StringComparer.Ordinal))
        {
            throw new ArgumentException($"cannot merge a partial of features [{string.Join(", ", other.Features)}] into one of [{string.Join(", ", Features)}].", nameof(other));
        }

        for (var i = 0; i < _sketches.Length; i++)
        {
            _sketches[i].Merge(other._sketches[i]);
            _missing[i] += other._missing[i];
        }

        Rows += other.Rows;
    }

    private void AddColumn(int column, ReadOnlySpan<float> values)
    {
        var before = _sketches[column].Count;
        _sketches[column].Add(values);
        _missing[column] += values.Length - (_sketches[column].Count - before);
    }

    private static void EnsureDistinct(IReadOnlyList<string> features)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in features)
        {
            if (string.IsNullOrEmpty(name) || !seen.Add(name))
            {
                throw new ArgumentException($"feature names must be non-empty and distinct; '{name}' is not.", nameof(features));
            }
        }
    }
}
