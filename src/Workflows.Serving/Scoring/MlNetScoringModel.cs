using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace Workflows.Serving.Scoring;

/// <summary>
/// An ML.NET model saved as a <c>.zip</c> (<c>MLContext.Model.Save</c>): its input is a float vector column
/// <c>Features</c> of fixed size; a binary classifier gives <c>Probability</c> and <c>PredictedLabel</c> (served as
/// <c>probabilities</c> [N, 1] and <c>label</c>), a regressor <c>Score</c> (served as <c>score</c> [N, 1]). Scoring
/// rents a <see cref="PredictionEngine{TSrc, TDst}"/> from a pool (an engine is not thread-safe) and runs it row by row
/// into reused row objects: no allocation per row.
/// </summary>
internal sealed class MlNetScoringModel : IScoringModel
{
    /// <summary>The v2 platform name of ML.NET models.</summary>
    public const string Platform = "mlnet_zip";

    private const string FeaturesColumn = "Features";
    private readonly ConcurrentBag<Engine> _engines = [];
    private readonly Func<Engine> _createEngine;

    private MlNetScoringModel(ModelSchema schema, Func<Engine> createEngine)
    {
        Schema = schema;
        _createEngine = createEngine;
    }

    public ModelSchema Schema { get; }

    /// <summary>Loads <paramref name="artifact"/>; throws <see cref="ModelLoadException"/> when it is no model the service can serve.</summary>
    public static MlNetScoringModel Load(byte[] artifact)
    {
        var context = new MLContext(seed: 0);

        // Trees' loadable classes live in the FastTree assembly; loading a tree model needs it registered.
        context.ComponentCatalog.RegisterAssembly(typeof(FastTreeBinaryTrainer).Assembly);
        ITransformer transformer;
        DataViewSchema inputSchema;
        try
        {
            using var stream = new MemoryStream(artifact, writable: false);
            transformer = context.Model.Load(stream, out inputSchema);
        }
        catch (Exception exception) when (exception is InvalidOperationException or FormatException or InvalidDataException or ArgumentException or IOException)
        {
            throw new ModelLoadException($"ML.NET cannot load the artifact: {exception.Message}", exception);
        }

        if (inputSchema.GetColumnOrNull(FeaturesColumn) is not { Type: VectorDataViewType { ItemType: NumberDataViewType, Size: > 0 } vector }
            || vector.ItemType != NumberDataViewType.Single)
        {
            throw new ModelLoadException($"The ML.NET model must take a float vector column '{FeaturesColumn}' of fixed size.");
        }

        var featureCount = vector.Size;
        var definition = SchemaDefinition.Create(typeof(FeatureRow));
        definition[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        var output = transformer.GetOutputSchema(inputSchema);
        if (output.GetColumnOrNull("Probability") is { Type: NumberDataViewType } && output.GetColumnOrNull("PredictedLabel") is { Type: BooleanDataViewType })
        {
            var schema = new ModelSchema(Platform, FeaturesColumn.ToLowerInvariant(), featureCount, "probabilities", 1, "label");
            return new MlNetScoringModel(schema, () => new BinaryEngine(context.Model.CreatePredictionEngine<FeatureRow, BinaryRow>(transformer, inputSchemaDefinition: definition), featureCount));
        }

        if (output.GetColumnOrNull("Score") is { Type: NumberDataViewType scoreType } && scoreType == NumberDataViewType.Single)
        {
            var schema = new ModelSchema(Platform, FeaturesColumn.ToLowerInvariant(), featureCount, "score", 1, null);
            return new MlNetScoringModel(schema, () => new RegressionEngine(context.Model.CreatePredictionEngine<FeatureRow, RegressionRow>(transformer, inputSchemaDefinition: definition), featureCount));
        }

        throw new ModelLoadException("The ML.NET model must give Probability and PredictedLabel (binary classification) or a float Score (regression).");
    }

    public void Score(float[] features, int rows, float[] values, long[] labels)
    {
        var engine = _engines.TryTake(out var pooled) ? pooled : _createEngine();
        try
        {
            var featureCount = Schema.FeatureCount;
            for (var row = 0; row < rows; row++)
            {
                features.AsSpan(row * featureCount, featureCount).CopyTo(engine.Input.Features);
                (values[row], var label) = engine.Predict();
                labels[row] = label;
            }
        }
        finally
        {
            _engines.Add(engine);
        }
    }

    public void Dispose()
    {
        while (_engines.TryTake(out var engine))
        {
            engine.Dispose();
        }
    }

    /// <summary>One pooled prediction engine with its reused input row.</summary>
    private abstract class Engine(int featureCount) : IDisposable
    {
        public FeatureRow Input { get; } = new() { Features = new float[featureCount] };

        public abstract (float Value, long Label) Predict();

        public abstract void Dispose();
    }

    private sealed class BinaryEngine(PredictionEngine<FeatureRow, BinaryRow> engine, int featureCount) : Engine(featureCount)
    {
        private BinaryRow _output = new();

        public override (float Value, long Label) Predict()
        {
            engine.Predict(Input, ref _output);
            return (_output.Probability, _output.PredictedLabel ? 1 : 0);
        }

        public override void Dispose() => engine.Dispose();
    }

    private sealed class RegressionEngine(PredictionEngine<FeatureRow, RegressionRow> engine, int featureCount) : Engine(featureCount)
    {
        private RegressionRow _output = new();

        public override (float Value, long Label) Predict()
        {
            engine.Predict(Input, ref _output);
            return (_output.Score, 0);
        }

        public override void Dispose() => engine.Dispose();
    }

    /// <summary>The input row: the features vector (its size is set at load through a schema definition).</summary>
    internal sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }

    internal sealed class BinaryRow
    {
        public float Probability { get; set; }

        public bool PredictedLabel { get; set; }
    }

    internal sealed class RegressionRow
    {
        public float Score { get; set; }
    }
}
