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
            SgdKernels.Multiply(
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
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
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

        Span<float> imputed = FeatureCount <= 1024 ? stackalloc float[FeatureCount] : new float[FeatureCount];
        var row = 0;
        if (OutputCount == 1)
        {
            // Four rows at a time share the loads of the weights and the mean.
            var bias = _bias[0];
            for (; row + 4 <= rowCount; row += 4)
            {
                var offset = row * FeatureCount;
                SgdKernels.CenteredDot4(
                    _scaledWeights, _mean, features, offset, offset + FeatureCount, offset + (2 * FeatureCount), offset + (3 * FeatureCount), out var z0, out var z1, out var z2, out var z3);
                if (!(float.IsFinite(z0) && float.IsFinite(z1) && float.IsFinite(z2) && float.IsFinite(z3)))
                {
                    for (var r = row; r < row + 4; r++)
                    {
                        PredictRow(features.Slice(r * FeatureCount, FeatureCount), probabilities.Slice(r, 1), imputed, chunkIndex, r);
                    }

                    continue;
                }

                probabilities[row] = LinearKernel.Sigmoid(z0 + bias);
                probabilities[row + 1] = LinearKernel.Sigmoid(z1 + bias);
                probabilities[row + 2] = LinearKernel.Sigmoid(z2 + bias);
                probabilities[row + 3] = LinearKernel.Sigmoid(z3 + bias);
            }
        }

        // Multinomial rows, and the binary rows after the last group of four: one row at a time.
        for (; row < rowCount; row++)
        {
            PredictRow(features.Slice(row * FeatureCount, FeatureCount), probabilities.Slice(row * OutputCount, OutputCount), imputed, chunkIndex, row);
        }
    }

    /// <summary>
    /// One row's probabilities. A non-finite logit means a NaN feature (imputed with its mean, so the row scores as if
    /// it held the mean: the same sums bit for bit) or an infinite one (rejected naming chunk, row and column).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void PredictRow(ReadOnlySpan<float> input, Span<float> output, Span<float> imputed, int chunkIndex, int row)
    {
        if (!Logits(input, output))
        {
            LinearKernel.ImputeMissing(input, _mean, imputed, chunkIndex, row);
            Logits(imputed, output);
            foreach (var z in output)
            {
                if (float.IsNaN(z))
                {
                    throw new InvalidOperationException("The model's weights are not finite numbers: it cannot score.");
                }
            }
        }

        LinearKernel.ToProbabilities(output);
    }

    private bool Logits(ReadOnlySpan<float> input, Span<float> logits)
    {
        var finite = true;
        for (var c = 0; c < logits.Length; c++)
        {
            var z = SgdKernels.CenteredDot(_scaledWeights.AsSpan(c * FeatureCount, FeatureCount), _mean, input) + _bias[c];
            logits[c] = z;
            finite &= float.IsFinite(z);
        }

        return finite;
    }

    /// <summary>The predicted class of one row of probabilities as written by <see cref="PredictProbabilities"/>.</summary>
    public static int PredictedLabel(ReadOnlySpan<float> rowProbabilities) => LinearKernel.Label(rowProbabilities);
}
