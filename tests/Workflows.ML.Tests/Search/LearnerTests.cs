using Microsoft.ML;
using Microsoft.ML.Data;
using Workflows.ML.Search;
using Workflows.ML.Search.Learners;
using Workflows.ML.Search.Metrics;
using Workflows.ML.Search.Space;
using Xunit;

namespace Workflows.ML.Tests.Search;

public sealed class LearnerTests
{
    private static readonly TrainingSet Train = SearchData.Binary(160, seed: 1);
    private static readonly TrainingSet Test = SearchData.Binary(80, seed: 2);

    private static Dictionary<string, ParameterValue> Params(params (string Name, double Value)[] values) =>
        values.ToDictionary(v => v.Name, v => ParameterValue.Of(v.Value));

    [Theory]
    [InlineData(LearnerCatalog.GradientBoosting)]
    [InlineData(LearnerCatalog.RandomForest)]
    [InlineData(LearnerCatalog.LightGbm)]
    public void TreeLearner_LearnsTheProblem_RepeatablyFromTheSeed_AndSavesAnMlNetZip(string name)
    {
        var learner = LearnerCatalog.Create(name);
        var parameters = Params(("n_estimators", 20), ("max_depth", 3), ("subsample", 0.8));

        var model = learner.Train(Train, parameters, new Resource(ResourceKind.NSamples, Train.RowCount), seed: 3);
        var again = learner.Train(Train, parameters, new Resource(ResourceKind.NSamples, Train.RowCount), seed: 3);
        var probabilities = model.PredictProbabilities(Test.Features, Test.RowCount);

        Assert.Equal("mlnet-zip", model.Format);
        Assert.Null(model.Checkpoint);
        Assert.All(probabilities, p => Assert.InRange(p, 0f, 1f));
        Assert.True(ClassificationMetrics.RocAuc(probabilities, 2, Test.Labels) > 0.9, name);
        Assert.Equal(probabilities, again.PredictProbabilities(Test.Features, Test.RowCount));

        using var stream = new MemoryStream();
        model.Save(stream);
        stream.Position = 0;
        var context = new MLContext(0);
        var loaded = context.Model.Load(stream, out _);
        var view = loaded.Transform(context.Data.LoadFromEnumerable(
            Enumerable.Range(0, Test.RowCount).Select(r => new ScoringRow { Features = Test.Row(r).ToArray() }),
            ScoringRow.Schema(3)));
        var reloaded = view.GetColumn<float>("Probability").ToArray();
        Assert.Equal(Enumerable.Range(0, Test.RowCount).Select(r => probabilities[(2 * r) + 1]), reloaded);
    }

    [Fact]
    public void GradientBoosting_NEstimatorsResource_SetsTheTrees()
    {
        var learner = LearnerCatalog.Create(LearnerCatalog.GradientBoosting);
        var fromResource = learner.Train(Train, Params(("max_depth", 2)), new Resource(ResourceKind.NEstimators, 5), seed: 1);
        var fromParameter = learner.Train(Train, Params(("max_depth", 2), ("n_estimators", 5)), new Resource(ResourceKind.NSamples, Train.RowCount), seed: 1);

        Assert.Equal(fromParameter.PredictProbabilities(Test.Features, Test.RowCount), fromResource.PredictProbabilities(Test.Features, Test.RowCount));
    }

    [Fact]
    public void Sgd_PromotedTrialResumesFromItsCheckpoint_AsIfTrainedStraightThrough()
    {
        var learner = LearnerCatalog.Create(LearnerCatalog.Sgd);
        var parameters = Params(("learning_rate", 0.05), ("batch_size", 8));

        var twoEpochs = learner.Train(Train, parameters, new Resource(ResourceKind.Epochs, 2), seed: 4);
        var resumed = learner.Train(Train, parameters, new Resource(ResourceKind.Epochs, 6), seed: 4, twoEpochs.Checkpoint);
        var straight = learner.Train(Train, parameters, new Resource(ResourceKind.Epochs, 6), seed: 4);

        Assert.Equal(straight.PredictProbabilities(Test.Features, Test.RowCount), resumed.PredictProbabilities(Test.Features, Test.RowCount));
        Assert.NotEqual(twoEpochs.PredictProbabilities(Test.Features, Test.RowCount), resumed.PredictProbabilities(Test.Features, Test.RowCount));
        Assert.Equal(straight.Checkpoint, resumed.Checkpoint);
        Assert.True(ClassificationMetrics.Accuracy(straight.PredictProbabilities(Test.Features, Test.RowCount), 2, Test.Labels) > 0.85);

        using var onnx = new MemoryStream();
        straight.Save(onnx);
        Assert.Equal("onnx", straight.Format);
        Assert.True(onnx.Length > 100);
    }

    [Fact]
    public void Sgd_CheckpointWithDifferentParameters_OrBackwards_IsRefused()
    {
        var learner = LearnerCatalog.Create(LearnerCatalog.Sgd);
        var checkpoint = learner.Train(Train, Params(("alpha", 0.001)), new Resource(ResourceKind.Epochs, 3), seed: 1).Checkpoint;

        Assert.Throws<InvalidOperationException>(() => learner.Train(Train, Params(("alpha", 0.01)), new Resource(ResourceKind.Epochs, 4), 1, checkpoint));
        Assert.Throws<ArgumentException>(() => learner.Train(Train, Params(("alpha", 0.001)), new Resource(ResourceKind.Epochs, 2), 1, checkpoint));
        Assert.Throws<ArgumentException>(() => learner.Train(Train, Params(("alpha", 0.001)), new Resource(ResourceKind.NSamples, 100), 1, checkpoint));
    }

    [Fact]
    public void Sgd_TakesThreeClasses()
    {
        var labels = Enumerable.Range(0, Train.RowCount).Select(r => Train.Row(r)[0] < -0.3f ? 0 : Train.Row(r)[0] < 0.3f ? 1 : 2).ToArray();
        var data = new TrainingSet(Train.Features.ToArray(), labels, 3, 3);

        var model = LearnerCatalog.Create(LearnerCatalog.Sgd).Train(data, Params(("learning_rate", 0.5)), new Resource(ResourceKind.Epochs, 30), seed: 1);
        var probabilities = model.PredictProbabilities(data.Features, data.RowCount);

        Assert.Equal(3, model.ClassCount);
        var accuracy = ClassificationMetrics.Accuracy(probabilities, 3, labels);
        Assert.True(accuracy > 0.8, $"accuracy {accuracy}");
    }

    [Theory]
    [InlineData("xgboost", "n_estimators", 10.0, ResourceKind.NSamples, "Unknown learner 'xgboost'")]
    [InlineData(LearnerCatalog.GradientBoosting, "max_leaf_nodes", 10.0, ResourceKind.NSamples, "has no parameter 'max_leaf_nodes'")]
    [InlineData(LearnerCatalog.GradientBoosting, "n_estimators", 10.0, ResourceKind.NEstimators, "Cannot use parameter n_estimators as the resource")]
    [InlineData(LearnerCatalog.GradientBoosting, "subsample", 1.5, ResourceKind.NSamples, "'subsample' must be in (0, 1]")]
    [InlineData(LearnerCatalog.RandomForest, "n_estimators", 10.0, ResourceKind.Epochs, "cannot be budgeted on epochs")]
    [InlineData(LearnerCatalog.Sgd, "n_estimators", 10.0, ResourceKind.Epochs, "has no parameter 'n_estimators'")]
    [InlineData(LearnerCatalog.Sgd, "batch_size", 0.0, ResourceKind.Epochs, "'batch_size' must be in [1,")]
    public void BadLearnerOrParameter_IsAClearErrorBeforeAnyWork(string learner, string parameter, double value, ResourceKind resource, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => LearnerCatalog.Create(learner).Validate(Params((parameter, value)), new Resource(resource, 3)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TreeLearner_MoreThanTwoClasses_IsAnError()
    {
        var data = new TrainingSet(new float[9], [0, 1, 2], 3, 3);

        Assert.Contains("binary", Assert.Throws<ArgumentException>(() => LearnerCatalog.Create(LearnerCatalog.RandomForest).Train(data, Params(), new Resource(ResourceKind.NSamples, 3), 1)).Message, StringComparison.Ordinal);
    }

    private sealed class ScoringRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }

        public static SchemaDefinition Schema(int featureCount)
        {
            var schema = SchemaDefinition.Create(typeof(ScoringRow));
            schema[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
            return schema;
        }
    }
}
