namespace Workflows.ML.Monitoring;

/// <summary>The reference distribution of one model input or of the model's prediction.</summary>
/// <param name="Name">Feature name, or <see cref="ReferenceProfile.PredictionName"/>.</param>
/// <param name="Index">Position of the feature in the model's input; −1 for the prediction.</param>
/// <param name="Edges">Cut points between bins, increasing (see <see cref="ReferenceBins"/>): <c>Edges.Length + 1</c> bins.</param>
/// <param name="Proportions">Share of the reference's non-NaN values in each bin; they add up to 1.</param>
/// <param name="Count">Non-NaN reference values.</param>
/// <param name="Missing">NaN reference values.</param>
/// <param name="Min">Smallest reference value (NaN when there is none).</param>
/// <param name="Max">Largest reference value (NaN when there is none).</param>
/// <param name="ProportionError">
/// Bound on the error of each proportion: 0 when the reference values were counted into the bins, 2·E/n when the
/// proportions were read off the quantile sketch (E its rank error bound, n <paramref name="Count"/>).
/// </param>
public sealed record ColumnReference(
    string Name,
    int Index,
    double[] Edges,
    double[] Proportions,
    long Count,
    long Missing,
    double Min,
    double Max,
    double ProportionError)
{
    /// <summary>Number of bins.</summary>
    public int Bins => Edges.Length + 1;
}
