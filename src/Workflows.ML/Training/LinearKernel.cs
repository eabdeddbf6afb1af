using System.Numerics.Tensors;

namespace Workflows.ML.Training;

/// <summary>
/// The per-row arithmetic shared by training and scoring besides the dot products (<see cref="SgdKernels"/>): impute
/// missing values, and turn logits into probabilities and labels.
/// </summary>
internal static class LinearKernel
{
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
