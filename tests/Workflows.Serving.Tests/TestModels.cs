using Microsoft.ML;
using Microsoft.ML.Data;
using Workflows.ML.Onnx;
using Workflows.ML.Registry;
using Workflows.ML.Training;

namespace Workflows.Serving.Tests;

/// <summary>Tiny real models: a linear model exported by the repository's ONNX exporter, and an ML.NET FastTree saved as .zip.</summary>
internal static class TestModels
{
    public const int Features = 4;

    /// <summary>A binary logistic regression over <paramref name="features"/> features; <paramref name="scale"/> makes versions differ.</summary>
    public static byte[] LinearOnnx(int features = Features, float scale = 1f) => Workflows.Testing.TestModels.LinearOnnx(features, scale);

    /// <summary>A FastTree binary classifier trained on a separable rule, saved with MLContext.Model.Save.</summary>
    public static byte[] FastTreeZip(int trees = 5)
    {
        var context = new MLContext(seed: 1);
        var random = new Random(7);
        var rows = new List<TrainRow>();
        for (var i = 0; i < 400; i++)
        {
            var x = new float[Features];
            for (var f = 0; f < Features; f++)
            {
                x[f] = (float)(random.NextDouble() * 2 - 1);
            }

            rows.Add(new TrainRow { Features = x, Label = x[0] + (0.5f * x[1]) > 0 });
        }

        var data = context.Data.LoadFromEnumerable(rows);
        var trainer = context.BinaryClassification.Trainers.FastTree(numberOfLeaves: 4, numberOfTrees: trees, minimumExampleCountPerLeaf: 5);
        var model = trainer.Fit(data);
        using var stream = new MemoryStream();
        context.Model.Save(model, data.Schema, stream);
        return stream.ToArray();
    }

    public static float[] Rows(int rows, int features = Features, int seed = 3)
    {
        var random = new Random(seed);
        var values = new float[rows * features];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(random.NextDouble() * 4 - 2);
        }

        return values;
    }

    public static Task<RegisteredModel> RegisterAsync(IModelRegistry registry, string name, string format, byte[] artifact) =>
        registry.RegisterAsync(new ModelRegistration(name, format, new Dictionary<string, double>(), new ModelLineage("test", "none", new Dictionary<string, string>(), null)), artifact);

    internal sealed class TrainRow
    {
        [VectorType(TestModels.Features)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
