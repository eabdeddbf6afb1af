namespace Workflows.ML.Search.Learners;

/// <summary>Rows to train or score on: row-major float features and class labels 0..ClassCount-1.</summary>
public sealed class TrainingSet
{
    private readonly float[] _features;
    private readonly int[] _labels;

    /// <summary>Checks the shapes and labels; the arrays are kept, not copied.</summary>
    public TrainingSet(float[] features, int[] labels, int featureCount, int classCount)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (featureCount < 1 || classCount < 2)
        {
            throw new ArgumentException($"A training set needs at least one feature and two classes (was {featureCount} features, {classCount} classes).");
        }

        if (labels.Length == 0 || features.Length != (long)labels.Length * featureCount)
        {
            throw new ArgumentException($"{features.Length} feature values for {labels.Length} rows of {featureCount} features: need rows × features, at least one row.");
        }

        for (var row = 0; row < labels.Length; row++)
        {
            if ((uint)labels[row] >= (uint)classCount)
            {
                throw new ArgumentException($"Row {row} has label {labels[row]}, outside 0..{classCount - 1}.");
            }
        }

        _features = features;
        _labels = labels;
        FeatureCount = featureCount;
        ClassCount = classCount;
    }

    /// <summary>Features per row.</summary>
    public int FeatureCount { get; }

    /// <summary>Number of classes.</summary>
    public int ClassCount { get; }

    /// <summary>Rows.</summary>
    public int RowCount => _labels.Length;

    /// <summary>All features, row-major.</summary>
    public ReadOnlySpan<float> Features => _features;

    /// <summary>All labels.</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>A binary set from boolean labels (true = class 1).</summary>
    public static TrainingSet FromBooleanLabels(float[] features, bool[] labels, int featureCount)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return new TrainingSet(features, [.. labels.Select(label => label ? 1 : 0)], featureCount, classCount: 2);
    }

    /// <summary>The features of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> Row(int row) => _features.AsSpan(row * FeatureCount, FeatureCount);

    /// <summary>A copy of the given rows, in the given order, with the same feature and class counts.</summary>
    public TrainingSet Select(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var features = new float[rows.Count * FeatureCount];
        var labels = new int[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            Row(rows[i]).CopyTo(features.AsSpan(i * FeatureCount, FeatureCount));
            labels[i] = _labels[rows[i]];
        }

        return new TrainingSet(features, labels, FeatureCount, ClassCount);
    }
}
