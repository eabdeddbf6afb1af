namespace Workflows.ML.Search.Learners;

/// <summary>Binary models give P(class 1) per row; <see cref="ITrainedModel"/> gives both classes' probabilities.</summary>
internal static class TwoClassProbabilities
{
    /// <summary>Rows × 2, row-major: <c>1 − p</c> and <c>p</c> for each <c>p</c> of <paramref name="positive"/>.</summary>
    public static float[] FromPositive(ReadOnlySpan<float> positive)
    {
        var probabilities = new float[positive.Length * 2];
        for (var r = 0; r < positive.Length; r++)
        {
            probabilities[2 * r] = 1 - positive[r];
            probabilities[(2 * r) + 1] = positive[r];
        }

        return probabilities;
    }
}
