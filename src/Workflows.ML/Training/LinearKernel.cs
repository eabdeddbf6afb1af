using System.Numerics.Tensors;

namespace Workflows.ML.Training;

/// <summary>
/// The per-row arithmetic shared by training and scoring, so both see exactly the same numbers: center the row,
/// impute missing values, compute logits with weights pre-scaled by 1/std, and turn logits into probabilities.
/// </summary>
internal static class LinearKernel
{
    /// <summary>
    /// Writes <c>x - mean</c> into <paramref name="centered"/> and the logits <c>W'·(x - mean) + b</c> into
    /// <paramref name="logits"/>. NaN features are imputed with the feature mean (0 once centered); an infinite
    /// feature cannot be imputed meaningfully and is rejected with its chunk, row and column.
    /// </summary>
    public static void Logits(
        ReadOnlySpan<float> row,
        ReadOnlySpan<float> mean,
        ReadOnlySpan<float> scaledWeights,
        ReadOnlySpan<float> bias,
        Span<float> centered,
        Span<float> logits,
        int chunkIndex,
        int rowIndex)
    {
        TensorPrimitives.Subtract(row, mean, centered);
        if (!Dot(scaledWeights, bias, centered, logits, allowInfinity: false))
        {
            // A non-finite logit almost always means a NaN or infinite feature: checking the logits instead of every
            // feature keeps the common, clean row free of an extra pass.
            ImputeMissing(centered, chunkIndex, rowIndex);
            if (!Dot(scaledWeights, bias, centered, logits, allowInfinity: true))
            {
                throw new InvalidOperationException(
                    "SGD diverged: the weights are no longer finite numbers. Lower the learning rate or raise L2.");
            }
        }
    }

    /// <summary>Sigmoid of the single logit (binary) or softmax over the logits (multinomial), in place.</summary>
    public static void ToProbabilities(Span<float> logits)
    {
        if (logits.Length == 1)
        {
            logits[0] = 1f / (1f + MathF.Exp(-logits[0]));
            return;
        }

        // Subtracting the max keeps exp from overflowing on large logits.
        var max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, logits);
        TensorPrimitives.Exp(logits, logits);
        TensorPrimitives.Divide(logits, TensorPrimitives.Sum(logits), logits);
    }

    /// <summary>Predicted class from one row of probabilities: P(class 1) &gt; 0.5 for binary, the arg-max otherwise.</summary>
    public static int Label(ReadOnlySpan<float> probabilities) =>
        probabilities.Length == 1 ? (probabilities[0] > 0.5f ? 1 : 0) : TensorPrimitives.IndexOfMax(probabilities);

    private static bool Dot(ReadOnlySpan<float> scaledWeights, ReadOnlySpan<float> bias, ReadOnlySpan<float> centered, Span<float> logits, bool allowInfinity)
    {
        var featureCount = centered.Length;
        var finite = true;
        for (var c = 0; c < logits.Length; c++)
        {
            var z = TensorPrimitives.Dot(scaledWeights.Slice(c * featureCount, featureCount), centered) + bias[c];
            logits[c] = z;
            finite &= allowInfinity ? !float.IsNaN(z) : float.IsFinite(z);
        }

        return finite;
    }

    private static void ImputeMissing(Span<float> centered, int chunkIndex, int rowIndex)
    {
        for (var i = 0; i < centered.Length; i++)
        {
            var value = centered[i];
            if (float.IsNaN(value))
            {
                centered[i] = 0f;
            }
            else if (float.IsInfinity(value))
            {
                throw new TrainingDataException(
                    $"Feature {i} of row {rowIndex} in chunk {chunkIndex} is {(value > 0 ? "+" : "-")}infinity; "
                    + "only NaN is treated as missing (imputed with the feature mean), infinities are rejected.");
            }
        }
    }
}
