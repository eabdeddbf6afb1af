using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Workflows.ML.Onnx;
using Workflows.ML.Tests.Training;
using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Onnx;

public sealed class OnnxModelExporterTests : IDisposable
{
    private const int Features = 6;
    private const int Rows = 200;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "wf-onnx-" + Guid.NewGuid().ToString("N"));

    public OnnxModelExporterTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Export_LoadedByOnnxRuntime_MatchesOurScorer(int classes)
    {
        var (model, holdout) = TrainModel(classes);
        var expected = Score(model, holdout);

        using var session = new InferenceSession(OnnxModelExporter.Export(model, "test model"));
        var input = new DenseTensor<float>(holdout.Features, [Rows, Features]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxModelExporter.FeaturesInput, input)]);
        var probabilities = results.Single(r => r.Name == OnnxModelExporter.ProbabilitiesOutput).AsTensor<float>();
        var labels = results.Single(r => r.Name == OnnxModelExporter.LabelOutput).AsTensor<long>();

        Assert.Equal([Rows, model.OutputCount], probabilities.Dimensions.ToArray());
        Assert.Equal([Rows], labels.Dimensions.ToArray());
        AssertClose(expected.Probabilities, probabilities.ToArray());
        Assert.Equal(expected.Labels, labels.ToArray());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Export_LoadedByMlNetApplyOnnxModel_MatchesOurScorer(int classes)
    {
        var (model, holdout) = TrainModel(classes);
        var expected = Score(model, holdout);
        var path = Path.Combine(_directory, "model.onnx");
        File.WriteAllBytes(path, OnnxModelExporter.Export(model));
        var context = new MLContext(seed: 1);
        var rows = new FeatureRow[Rows];
        for (var row = 0; row < Rows; row++)
        {
            rows[row] = new FeatureRow { Features = holdout.Features.AsSpan(row * Features, Features).ToArray() };
        }

        var data = context.Data.LoadFromEnumerable(rows);
        var pipeline = context.Transforms.ApplyOnnxModel(
            [OnnxModelExporter.ProbabilitiesOutput, OnnxModelExporter.LabelOutput],
            [OnnxModelExporter.FeaturesInput],
            path);
        using var transformer = pipeline.Fit(data);
        var predictions = context.Data.CreateEnumerable<Prediction>(transformer.Transform(data), reuseRowObject: false).ToArray();

        Assert.Equal(Rows, predictions.Length);
        AssertClose(expected.Probabilities, predictions.SelectMany(p => p.Probabilities).ToArray());
        Assert.Equal(expected.Labels, predictions.Select(p => Assert.Single(p.Label)).ToArray());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Export_NaNFeature_ImputedWithTheMeanLikeOurScorer(int classes)
    {
        var (model, holdout) = TrainModel(classes);
        var withNaN = (float[])holdout.Features.Clone();
        withNaN[(3 * Features) + 2] = float.NaN;
        var withMean = (float[])holdout.Features.Clone();
        withMean[(3 * Features) + 2] = model.Mean[2];

        using var session = new InferenceSession(OnnxModelExporter.Export(model));
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxModelExporter.FeaturesInput, new DenseTensor<float>(withNaN, [Rows, Features]))]);
        var probabilities = results.Single(r => r.Name == OnnxModelExporter.ProbabilitiesOutput).AsTensor<float>().ToArray();

        var expected = new float[Rows * model.OutputCount];
        model.PredictProbabilities(withMean, Rows, expected);
        AssertClose(expected, probabilities);
        Assert.False(float.IsNaN(probabilities[3 * model.OutputCount]));
    }

    private static (LogisticRegressionModel Model, LinearProblem Holdout) TrainModel(int classes)
    {
        var train = LinearProblem.Create(3000, Features, classes, seed: 31);
        var standardization = train.Standardization();
        var options = new TrainingOptions(Features, classes, LearningRate: 0.5f, Seed: 5);
        var state = TrainingRuns.Run(options, standardization, train.Chunks(1000), epochs: 2);
        return (LogisticRegressionModel.FromState(state, standardization), LinearProblem.Create(Rows, Features, classes, seed: 32));
    }

    private static (float[] Probabilities, long[] Labels) Score(LogisticRegressionModel model, LinearProblem data)
    {
        var probabilities = new float[data.Rows * model.OutputCount];
        model.PredictProbabilities(data.Features, data.Rows, probabilities);
        var labels = new long[data.Rows];
        for (var row = 0; row < data.Rows; row++)
        {
            labels[row] = LogisticRegressionModel.PredictedLabel(probabilities.AsSpan(row * model.OutputCount, model.OutputCount));
        }

        // A model that predicts one class everywhere would let a broken label output pass unnoticed.
        Assert.Contains(0L, labels);
        Assert.Contains(1L, labels);
        return (probabilities, labels);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f, $"value {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    private sealed class FeatureRow
    {
        [ColumnName(OnnxModelExporter.FeaturesInput)]
        [VectorType(OnnxModelExporterTests.Features)]
        public float[] Features { get; set; } = [];
    }

    private sealed class Prediction
    {
        [ColumnName(OnnxModelExporter.ProbabilitiesOutput)]
        public float[] Probabilities { get; set; } = [];

        [ColumnName(OnnxModelExporter.LabelOutput)]
        public long[] Label { get; set; } = [];
    }
}
