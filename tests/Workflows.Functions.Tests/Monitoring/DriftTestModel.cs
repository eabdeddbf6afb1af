using Workflows.ML.Training;

namespace Workflows.Functions.Tests.Monitoring;

/// <summary>The drift tests' model and data: a fixed logistic regression over three standard normal features.</summary>
internal static class DriftTestModel
{
    /// <summary>How many features the rows and the model have.</summary>
    public const int Features = 3;

    /// <summary>Rows of <see cref="Features"/> standard normal features (feature 0 moved by <paramref name="shift"/>), row-major.</summary>
    public static float[] Rows(int rows, int seed, double shift = 0)
    {
        var random = new Random(seed);
        var values = new float[rows * Features];
        for (var i = 0; i < values.Length; i++)
        {
            var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            values[i] = (float)(normal + (i % Features == 0 ? shift : 0));
        }

        return values;
    }

    /// <summary>The model: fixed weights, no standardization.</summary>
    public static LogisticRegressionModel Model() => LogisticRegressionModel.FromState(
        TrainerState.FromParts(Features, 2, [1f, -0.5f, 0.25f], [0.1f], 0, 0, [0, 0]),
        new FeatureStandardization(new float[Features], [1f, 1f, 1f]));

    /// <summary>The model's probability of class 1 for each row.</summary>
    public static float[] Predict(float[] rows)
    {
        var predictions = new float[rows.Length / Features];
        Model().PredictProbabilities(rows, predictions.Length, predictions);
        return predictions;
    }
}
