using Workflows.ML.Search.Metrics;
using Xunit;

namespace Workflows.ML.Tests.Search;

public sealed class ClassificationMetricsTests
{
    private static float[] Binary(params float[] positive) => [.. positive.SelectMany(p => new[] { 1 - p, p })];

    [Fact]
    public void Accuracy_CountsTheMostProbableClass()
    {
        // Predicted classes 1, 0, 1, 0 against labels 1, 0, 0, 0: three right.
        Assert.Equal(0.75, ClassificationMetrics.Accuracy(Binary(0.9f, 0.2f, 0.6f, 0.4f), 2, [1, 0, 0, 0]));
    }

    [Fact]
    public void RocAuc_MatchesHandComputedValues()
    {
        // scikit-learn's roc_auc_score example: 3 of the 4 positive/negative pairs are ordered right.
        Assert.Equal(0.75, ClassificationMetrics.RocAuc(Binary(0.1f, 0.4f, 0.35f, 0.8f), 2, [0, 0, 1, 1]), 12);

        // Ties by midranks: scores 0.5, 0.5, 0.5 take rank 2 each; the positive pairs are 0.5 vs two negatives at
        // 0.5 (half each) and 0.9 vs both negatives (1 each): (0.5 + 0.5 + 1 + 1) / 4.
        Assert.Equal(0.75, ClassificationMetrics.RocAuc(Binary(0.5f, 0.5f, 0.5f, 0.9f), 2, [0, 1, 0, 1]), 12);

        // One class only: undefined.
        Assert.True(double.IsNaN(ClassificationMetrics.RocAuc(Binary(0.2f, 0.7f), 2, [1, 1])));
    }

    [Fact]
    public void RocAuc_ThreeClasses_IsTheMacroOneVsRestMean()
    {
        // Class 0 ranks its positive first (AUC 1), class 1 last (0), class 2 first (1): mean 2/3.
        float[] probabilities =
        [
            0.7f, 0.1f, 0.2f,
            0.5f, 0.05f, 0.45f,
            0.1f, 0.3f, 0.6f,
            0.3f, 0.1f, 0.6f,
        ];
        int[] labels = [0, 1, 2, 2];

        Assert.Equal(((1.0 + 0.0 + 1.0) / 3), ClassificationMetrics.RocAuc(probabilities, 3, labels), 12);
    }

    [Fact]
    public void LogLoss_IsTheMeanNegativeLogOfTheLabelsProbability_Clipped()
    {
        Assert.Equal(-(Math.Log(0.8) + Math.Log(0.7)) / 2, ClassificationMetrics.LogLoss(Binary(0.8f, 0.3f), 2, [1, 0]), 6);

        // A probability of 0 for the true class costs -log(1e-15), not infinity.
        Assert.Equal(-Math.Log(1e-15) / 2, ClassificationMetrics.LogLoss(Binary(0f, 0f), 2, [1, 0]), 9);
        Assert.Equal(-ClassificationMetrics.LogLoss(Binary(0.8f, 0.3f), 2, [1, 0]), ClassificationMetrics.Score(ScoringMetric.NegLogLoss, Binary(0.8f, 0.3f), 2, [1, 0]));
    }

    [Fact]
    public void Metrics_BadShapes_AreClearErrors()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Accuracy(Binary(0.5f), 2, [0, 1]));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Accuracy(Binary(0.5f), 2, [2]));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.LogLoss([float.NaN, 1], 2, [0]));
    }
}
