using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Training;

public sealed class HoldoutEvaluatorTests
{
    [Fact]
    public void Compute_BinaryModelWithKnownWeights_MatchesHandComputedMetrics()
    {
        // One feature, weight 1, bias 0, identity standardization: P(1) = sigmoid(x).
        var model = LogisticRegressionModel.FromState(TrainerState.FromParts(1, 2, [1f], [0f], 0, 0, [0, 0]), FeatureStandardization.Identity(1));
        float[] x = [-2f, 1f, 0.5f, 3f];
        int[] y = [0, 0, 1, 1];
        var evaluator = new HoldoutEvaluator(model);

        evaluator.Add(x.AsSpan(0, 2), y.AsSpan(0, 2), 2);
        evaluator.Add(x.AsSpan(2), y.AsSpan(2), 2);
        var metrics = evaluator.Compute();

        var expectedLogLoss = -(Math.Log(1 - Sigmoid(-2)) + Math.Log(1 - Sigmoid(1)) + Math.Log(Sigmoid(0.5)) + Math.Log(Sigmoid(3))) / 4;
        Assert.Equal(4, metrics.Rows);
        Assert.Equal(0.75, metrics.Accuracy);
        Assert.Equal(expectedLogLoss, metrics.LogLoss, 6);

        // Positive scores {0.5, 3} vs negative {-2, 1}: pairs ranked right are 3 of 4.
        Assert.Equal(0.75, metrics.RocAuc);
    }

    [Fact]
    public void Compute_TiedScores_CountHalf()
    {
        var model = LogisticRegressionModel.FromState(TrainerState.FromParts(1, 2, [0f], [0f], 0, 0, [0, 0]), FeatureStandardization.Identity(1));
        var evaluator = new HoldoutEvaluator(model);

        evaluator.Add([1f, 2f, 3f], [0, 1, 1], 3);

        Assert.Equal(0.5, evaluator.Compute().RocAuc);
    }

    [Fact]
    public void Compute_MulticlassModel_MacroAverageOfOneVsRest()
    {
        // Three classes, one feature: logits (x, 0, -x). Class 1 never occurs, so only classes 0 and 2 count.
        var model = LogisticRegressionModel.FromState(
            TrainerState.FromParts(1, 3, [1f, 0f, -1f], [0f, 0f, 0f], 0, 0, [0, 0, 0]),
            FeatureStandardization.Identity(1));
        var evaluator = new HoldoutEvaluator(model);

        evaluator.Add([2f, 1f, -1f, -3f], [0, 2, 0, 2], 4);
        var metrics = evaluator.Compute();

        // Class 0 scores rise with x: positives {2, -1} vs negatives {1, -3} -> 3/4. Class 2 mirrors it -> 3/4.
        Assert.Equal(0.75, metrics.RocAuc, 12);
        Assert.Equal(0.5, metrics.Accuracy);
    }

    [Fact]
    public void Compute_SingleClassHoldout_AucIsNaN()
    {
        var model = LogisticRegressionModel.FromState(TrainerState.FromParts(1, 2, [1f], [0f], 0, 0, [0, 0]), FeatureStandardization.Identity(1));
        var evaluator = new HoldoutEvaluator(model);

        evaluator.Add([1f, 2f], [1, 1], 2);

        Assert.True(double.IsNaN(evaluator.Compute().RocAuc));
    }

    [Fact]
    public void Compute_NoRows_ThrowsReadableError()
    {
        var model = LogisticRegressionModel.FromState(TrainerState.FromParts(1, 2, [1f], [0f], 0, 0, [0, 0]), FeatureStandardization.Identity(1));

        var error = Assert.Throws<TrainingDataException>(new HoldoutEvaluator(model).Compute);

        Assert.Contains("no rows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnsureTrainedClassesPresent_HoldoutMissesATrainedClass_ThrowsNamingIt()
    {
        var model = LogisticRegressionModel.FromState(
            TrainerState.FromParts(1, 3, [1f, 0f, -1f], [0f, 0f, 0f], 0, 0, [0, 0, 0]),
            FeatureStandardization.Identity(1));
        var evaluator = new HoldoutEvaluator(model);
        evaluator.Add([2f, 1f, -1f], [0, 2, 0], 3);

        var error = Assert.Throws<TrainingDataException>(() => evaluator.EnsureTrainedClassesPresent([40, 25, 35], "chunks 3, 5 of 'data'"));

        Assert.Equal([2L, 0L, 1L], evaluator.CountRowsPerClass());
        Assert.Equal(
            "the holdout (chunks 3, 5 of 'data') has no rows of class 1 (25 training rows); it holds only class 0, 2, so its metrics would not " +
            "measure every class the model learns (with one class, ROC AUC is undefined). Choose another seed or a larger holdoutFraction, " +
            "or give a holdout dataset with every class.",
            error.Message);
    }

    [Fact]
    public void EnsureTrainedClassesPresent_EveryTrainedClassInTheHoldout_Passes()
    {
        var model = LogisticRegressionModel.FromState(
            TrainerState.FromParts(1, 3, [1f, 0f, -1f], [0f, 0f, 0f], 0, 0, [0, 0, 0]),
            FeatureStandardization.Identity(1));
        var evaluator = new HoldoutEvaluator(model);
        evaluator.Add([2f, 1f, -1f], [0, 2, 0], 3);

        // Class 1 is missing from both sides: nothing the holdout fails to measure.
        evaluator.EnsureTrainedClassesPresent([40, 0, 35], "holdout");
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
}
