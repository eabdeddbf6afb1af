namespace Workflows.ML.Training;

/// <summary>
/// A trained model ready to score: probabilities <c>sigmoid</c> / <c>softmax</c> of <c>W'·(x - mean) + b</c>, where
/// <c>W' = W / std</c> folds the standardization scale into the weights. The ONNX export computes the same graph.
/// </summary>
public sealed class LogisticRegressionModel
{
    private readonly float[] _scaledWeights;
    private readonly float[] _bias;
    private readonly float[] _mean;

    private LogisticRegressionModel(int featureCount, int classCount, float[] scaledWeights, float[] bias, float[] mean)
    {
        FeatureCount = featureCount;
        ClassCount = classCount;
        _scaledWeights = scaledWeights;
        _bias = bias;
        _mean = mean;
    }

    /// <summary>Features per row.</summary>
    public int FeatureCount { get; }

    /// <summary>Number of classes.</summary>
    public int ClassCount { get; }

    /// <summary>Probabilities per row: 1 (P(class 1)) for binary, <see cref="ClassCount"/> for multinomial.</summary>
    public int OutputCount => _bias.Length;

    /// <summary><see cref="OutputCount"/> rows of <see cref="FeatureCount"/> weights applied to centered raw features.</summary>
    public ReadOnlySpan<float> ScaledWeights => _scaledWeights;

    /// <summary>One bias per output.</summary>
    public ReadOnlySpan<float> Bias => _bias;

    /// <summary>Per-feature mean subtracted first (and imputed for NaN features).</summary>
    public ReadOnlySpan<float> Mean => _mean;

    /// <summary>The model of a trainer state under a standardization.</summary>
    public static LogisticRegressionModel FromState(TrainerState state, FeatureStandardization standardization)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(standardization);
        if (standardization.FeatureCount != state.FeatureCount)
        {
            throw new ArgumentException($"The standardization has {standardization.FeatureCount} features; the state has {state.FeatureCount}.");
        }

        var scaled = new float[state.WeightsBuffer.Length];
        for (var c = 0; c < state.OutputCount; c++)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(
                state.Weights.Slice(c * state.FeatureCount, state.FeatureCount),
                standardization.InverseStd,
                scaled.AsSpan(c * state.FeatureCount, state.FeatureCount));
        }

        return new LogisticRegressionModel(state.FeatureCount, state.ClassCount, scaled, state.BiasBuffer.ToArray(), standardization.Mean.ToArray());
    }

    /// <summary>
    /// Writes <see cref="OutputCount"/> probabilities per row into <paramref name="probabilities"/> for
    /// <paramref name="rowCount"/> rows of row-major <paramref name="features"/>; <paramref name="chunkIndex"/> only
    /// names the chunk in error messages.
    /// </summary>
    public void PredictProbabilities(ReadOnlySpan<float> features, int rowCount, Span<float> probabilities, int chunkIndex = 0)
    {
        if (features.Length != (long)rowCount * FeatureCount)
        {
            throw new TrainingDataException(
                $"Chunk {chunkIndex}: feature count mismatch: {features.Length} values for {rowCount} rows; the model has {FeatureCount} features.");
        }

        if (probabilities.Length < (long)rowCount * OutputCount)
        {
            throw new ArgumentException($"The probability buffer holds {probabilities.Length} values; {rowCount * OutputCount} are needed.", nameof(probabilities));
        }

        Span<float> centered = FeatureCount <= 1024 ? stackalloc float[FeatureCount] : new float[FeatureCount];
        for (var row = 0; row < rowCount; row++)
        {
            var output = probabilities.Slice(row * OutputCount, OutputCount);
            LinearKernel.Logits(features.Slice(row * FeatureCount, FeatureCount), _mean, _scaledWeights, _bias, centered, output, center: true, chunkIndex, row);
            LinearKernel.ToProbabilities(output);
        }
    }

    /// <summary>The predicted class of one row of probabilities as written by <see cref="PredictProbabilities"/>.</summary>
    public static int PredictedLabel(ReadOnlySpan<float> rowProbabilities) => LinearKernel.Label(rowProbabilities);
}
