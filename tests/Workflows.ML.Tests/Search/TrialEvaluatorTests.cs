using Workflows.ML.Search;
using Workflows.ML.Search.Evaluation;
using Workflows.ML.Search.Learners;
using Workflows.ML.Search.Metrics;
using Workflows.ML.Search.Space;
using Xunit;

namespace Workflows.ML.Tests.Search;

public sealed class TrialEvaluatorTests
{
    private static readonly TrainingSet Data = SearchData.Binary(150, seed: 5);

    private static readonly Dictionary<string, ParameterValue> Trees = new() { ["n_estimators"] = ParameterValue.Of(10), ["max_depth"] = ParameterValue.Of(2) };

    [Fact]
    public void Evaluate_NSamples_ScoresEachFoldOfTheSubsample_Repeatably()
    {
        var request = new EvaluationRequest(LearnerCatalog.GradientBoosting, Trees, new Resource(ResourceKind.NSamples, 90), Folds: 3, ScoringMetric.RocAuc, Seed: 2);

        var first = TrialEvaluator.Evaluate(Data, request);
        var again = TrialEvaluator.Evaluate(Data, request);

        Assert.Equal(3, first.FoldScores.Count);
        Assert.All(first.FoldScores, score => Assert.InRange(score, 0.8, 1.0));
        Assert.Equal(first.FoldScores, again.FoldScores);
        Assert.All(first.FoldCheckpoints, Assert.Null);
    }

    [Fact]
    public void Evaluate_SgdEpochs_ResumesEachFoldFromItsCheckpoint()
    {
        var parameters = new Dictionary<string, ParameterValue> { ["learning_rate"] = ParameterValue.Of(0.05) };
        EvaluationRequest Request(int epochs) => new(LearnerCatalog.Sgd, parameters, new Resource(ResourceKind.Epochs, epochs), Folds: 3, ScoringMetric.NegLogLoss, Seed: 1);

        var rung0 = TrialEvaluator.Evaluate(Data, Request(1));
        var promoted = TrialEvaluator.Evaluate(Data, Request(3), rung0.FoldCheckpoints);
        var straight = TrialEvaluator.Evaluate(Data, Request(3));

        Assert.Equal(straight.FoldScores, promoted.FoldScores);
        Assert.True(promoted.MeanScore > rung0.MeanScore);
        Assert.All(promoted.FoldCheckpoints, Assert.NotNull);
    }

    [Fact]
    public void Evaluate_BadRequests_FailBeforeAnyTraining()
    {
        var resource = new Resource(ResourceKind.NSamples, 60);

        Assert.Throws<ArgumentException>(() => TrialEvaluator.Evaluate(Data, new EvaluationRequest("svm", Trees, resource)));
        Assert.Throws<ArgumentException>(() => TrialEvaluator.Evaluate(Data, new EvaluationRequest(LearnerCatalog.GradientBoosting, Trees, resource, Folds: 1)));
        Assert.Contains("more than the 150 rows", Assert.Throws<ArgumentException>(() => TrialEvaluator.Evaluate(Data, new EvaluationRequest(LearnerCatalog.GradientBoosting, Trees, new Resource(ResourceKind.NSamples, 151)))).Message, StringComparison.Ordinal);
        Assert.Contains("every class needs at least k rows", Assert.Throws<ArgumentException>(() => TrialEvaluator.Evaluate(Data, new EvaluationRequest(LearnerCatalog.GradientBoosting, Trees, new Resource(ResourceKind.NSamples, 6), Folds: 5))).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TrialEvaluator.Evaluate(Data, new EvaluationRequest(LearnerCatalog.GradientBoosting, Trees, resource), [null]));
    }
}
