using System.Numerics.Tensors;

namespace Workflows.ML.Training;

/// <summary>
/// The per-row arithmetic shared by training and scoring: impute missing values, compute logits with weights
/// pre-scaled by 1/std, and turn logits into probabilities.
/// </summary>
internal static class LinearKernel
{
    /// <summary>
    /// Writes the logits of one row into <paramref name="logits"/> and returns the row they were computed from.
    /// With <paramref name="center"/> the logits are <c>W'·(x - mean) + b</c> and the centered row is returned (in
    /// <paramref name="scratch"/>); without, they are <c>W'·x + b</c> (the caller folded the mean into the bias,
    /// which saves a pass per row) and the row itself is returned. NaN features are imputed with the feature mean
    /// (0 once centered); an infinite feature cannot be imputed meaningfully and is rejected with its chunk, row and
    /// column. In both cases the returned span is a copy in <paramref name="scratch"/> when a value was imputed.
    /// </summary>
    public static ReadOnlySpan<float> Logits(
        ReadOnlySpan<float> row,
        ReadOnlySpan<float> mean,
        ReadOnlySpan<float> scaledWeights,
        ReadOnlySpan<float> bias,
        Span<float> scratch,
        Span<float> logits,
        bool center,
        int chunkIndex,
        int rowIndex)
    {
        ReadOnlySpan<float> input = row;
        if (center)
        {
            TensorPrimitives.Subtract(row, mean, scratch);
            input = scratch;
        }

        if (Dot(scaledWeights, bias, input, logits, allowInfinity: false))
        {
            return input;
        }

        // A non-finite logit almost always means a NaN or infinite feature: checking the logits instead of every
        // feature keeps the common, clean row free of an extra pass.
        ImputeMissing(row, mean, scratch, chunkIndex, rowIndex);
        if (center)
        {
            TensorPrimitives.Subtract(scratch, mean, scratch);
        }

        if (!Dot(scaledWeights, bias, scratch, logits, allowInfinity: true))
        {
            throw new InvalidOperationException(
                "SGD diverged: the weights are no longer finite numbers. Lower the learning rate or raise L2.");
        }

        return scratch;
    }

    /// <summary>Sigmoid of the single logit (binary) or softmax over the logits (multinomial), in place.</summary>
    public static void ToProbabilities(Span<float> logits)
    {
        if (logits.Length == 1)
        {
            logits[0] = Sigmoid(logits[0]);
            return;
        }

        // Subtracting the max keeps exp from overflowing on large logits.
        var max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, logits);
        TensorPrimitives.Exp(logits, logits);
        TensorPrimitives.Divide(logits, TensorPrimitives.Sum(logits), logits);
    }

    /// <summary>The logistic function.</summary>
    public static float Sigmoid(float z) => 1f / (1f + MathF.Exp(-z));

    /// <summary>Predicted class from one row of probabilities: P(class 1) &gt; 0.5 for binary, the arg-max otherwise.</summary>
    public static int Label(ReadOnlySpan<float> probabilities) =>
        probabilities.Length == 1 ? (probabilities[0] > 0.5f ? 1 : 0) : TensorPrimitives.IndexOfMax(probabilities);

    private static bool Dot(ReadOnlySpan<float> scaledWeights, ReadOnlySpan<float> bias, ReadOnlySpan<float> input, Span<float> logits, bool allowInfinity)
    {
        var featureCount = input.Length;
        var finite = true;
        for (var c = 0; c < logits.Length; c++)
        {
            var z = TensorPrimitives.Dot(scaledWeights.Slice(c * featureCount, featureCount), input) + bias[c];
            logits[c] = z;
            finite &= allowInfinity ? !float.IsNaN(z) : float.IsFinite(z);
        }

        return finite;
    }

    /// <summary>Copies the row into <paramref name="destination"/> with NaN replaced by the feature mean; an infinity is rejected naming chunk, row and column.</summary>
    public static void ImputeMissing(ReadOnlySpan<float> row, ReadOnlySpan<float> mean, Span<float> destination, int chunkIndex, int rowIndex)
    {
        for (var i = 0; i < row.Length; i++)
        {
            var value = row[i];
            if (float.IsNaN(value))
            {
                destination[i] = mean[i];
            }
            else if (float.IsInfinity(value))
            {
                throw new TrainingDataException(
                    $"Feature {i} of row {rowIndex} in chunk {chunkIndex} is {(value > 0 ? "+" : "-")}infinity; "
                    + "only NaN is treated as missing (imputed with the feature mean), infinities are rejected.");
            }
            else
            {
                destination[i] = value;
            }
        }
    }
}
