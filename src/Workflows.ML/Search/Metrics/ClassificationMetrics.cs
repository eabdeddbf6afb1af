using Workflows.ML.Training;

namespace Workflows.ML.Search.Metrics;

/// <summary>
/// Our own evaluators of predicted class probabilities (row-major, <c>rows × classCount</c>) against class labels
/// 0..classCount-1: accuracy, ROC AUC (rank-sum with tied scores given their mean rank) and log loss (probabilities
/// clipped to [1e-15, 1 − 1e-15], as scikit-learn clips).
/// </summary>
public static class ClassificationMetrics
{
    /// <summary>The clip of <see cref="LogLoss"/>: a probability of 0 costs −log(1e-15) ≈ 34.5, not infinity.</summary>
    public const double ProbabilityClip = 1e-15;

    /// <summary>The score of <paramref name="metric"/> (higher is better).</summary>
    public static double Score(ScoringMetric metric, ReadOnlySpan<float> probabilities, int classCount, ReadOnlySpan<int> labels) => metric switch
    {
        ScoringMetric.Accuracy => Accuracy(probabilities, classCount, labels),
        ScoringMetric.RocAuc => RocAuc(probabilities, classCount, labels),
        ScoringMetric.NegLogLoss => -LogLoss(probabilities, classCount, labels),
        _ => throw new ArgumentException($"Unknown scoring metric {metric}.", nameof(metric)),
    };

    /// <summary>Fraction of rows whose most probable class (the lowest class on a tie) is the label.</summary>
    public static double Accuracy(ReadOnlySpan<float> probabilities, int classCount, ReadOnlySpan<int> labels)
    {
        var rows = CheckShape(probabilities, classCount, labels);
        var correct = 0;
        for (var row = 0; row < rows; row++)
        {
            var p = probabilities.Slice(row * classCount, classCount);
            var best = 0;
            for (var c = 1; c < classCount; c++)
            {
                if (p[c] > p[best])
                {
                    best = c;
                }
            }

            correct += best == labels[row] ? 1 : 0;
        }

        return (double)correct / rows;
    }

    /// <summary>Mean of −log p(label), each probability clipped to [<see cref="ProbabilityClip"/>, 1 − <see cref="ProbabilityClip"/>].</summary>
    public static double LogLoss(ReadOnlySpan<float> probabilities, int classCount, ReadOnlySpan<int> labels)
    {
        var rows = CheckShape(probabilities, classCount, labels);
        double sum = 0;
        for (var row = 0; row < rows; row++)
        {
            sum -= Math.Log(Math.Clamp(probabilities[(row * classCount) + labels[row]], ProbabilityClip, 1 - ProbabilityClip));
        }

        return sum / rows;
    }

    /// <summary>
    /// ROC AUC of class 1's probability for two classes; for more, the mean over classes of each class's
    /// one-vs-rest AUC, over the classes with both positives and negatives. NaN when no class has both.
    /// </summary>
    public static double RocAuc(ReadOnlySpan<float> probabilities, int classCount, ReadOnlySpan<int> labels)
    {
        var rows = CheckShape(probabilities, classCount, labels);
        var scores = new float[rows];
        var positive = new bool[rows];
        var scratch = new ulong[rows];
        double sum = 0;
        var defined = 0;
        for (var c = classCount == 2 ? 1 : 0; c < classCount; c++)
        {
            for (var row = 0; row < rows; row++)
            {
                scores[row] = probabilities[(row * classCount) + c];
                positive[row] = labels[row] == c;
            }

            var auc = Training.RocAuc.Compute(scores, positive, scratch);
            if (!double.IsNaN(auc))
            {
                sum += auc;
                defined++;
            }
        }

        return defined == 0 ? double.NaN : sum / defined;
    }

    private static int CheckShape(ReadOnlySpan<float> probabilities, int classCount, ReadOnlySpan<int> labels)
    {
        if (classCount < 2)
        {
            throw new ArgumentException($"Classification metrics need at least two classes (was {classCount}).", nameof(classCount));
        }

        if (labels.IsEmpty || probabilities.Length != (long)labels.Length * classCount)
        {
            throw new ArgumentException(
                $"{probabilities.Length} probabilities for {labels.Length} labels and {classCount} classes: need rows × classes, at least one row.",
                nameof(probabilities));
        }

        for (var row = 0; row < labels.Length; row++)
        {
            if ((uint)labels[row] >= (uint)classCount)
            {
                throw new ArgumentException($"Row {row} has label {labels[row]}, outside 0..{classCount - 1}.", nameof(labels));
            }

            var p = probabilities.Slice(row * classCount, classCount);
            for (var c = 0; c < classCount; c++)
            {
                if (!float.IsFinite(p[c]))
                {
                    throw new ArgumentException($"Row {row}: probability of class {c} is {p[c]}; probabilities must be finite.", nameof(probabilities));
                }
            }
        }

        return labels.Length;
    }
}
