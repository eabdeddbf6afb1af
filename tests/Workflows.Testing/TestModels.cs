using Workflows.ML.Onnx;
using Workflows.ML.Training;

namespace Workflows.Testing;

/// <summary>Small models for tests that need a registered, servable version.</summary>
public static class TestModels
{
    /// <summary>
    /// A binary logistic regression over <paramref name="features"/> inputs as ONNX: fixed weights times
    /// <paramref name="scale"/>, its bias moved by <paramref name="biasShift"/> (a large shift crowds its predictions near 1).
    /// </summary>
    public static byte[] LinearOnnx(int features, float scale = 1, float biasShift = 0)
    {
        var weights = new float[features];
        var mean = new float[features];
        var std = new float[features];
        for (var i = 0; i < features; i++)
        {
            weights[i] = scale * ((i % 3) - 1 + (0.25f * i));
            mean[i] = 0.1f * i;
            std[i] = 1f + (0.05f * i);
        }

        var state = TrainerState.FromParts(features, 2, weights, [(0.3f * scale) + biasShift], 0, 0, [0, 0]);
        return OnnxModelExporter.Export(LogisticRegressionModel.FromState(state, new FeatureStandardization(mean, std)));
    }
}
