namespace Workflows.ML.Training;

/// <summary>
/// Early stopping on the holdout log loss: lower is better, and unlike accuracy it keeps moving while a nearly
/// converged model still improves its probabilities. An epoch counts as an improvement only when it beats the
/// best so far by more than <c>minDelta</c>, so noise-level gains do not keep a run going.
/// </summary>
public static class EarlyStopping
{
    /// <summary>The best point of the learning curve (the earliest of equal ones); null for an empty curve.</summary>
    public static EpochMetrics? Best(IReadOnlyList<EpochMetrics> curve, double minDelta = 0)
    {
        ArgumentNullException.ThrowIfNull(curve);
        var best = BestIndex(curve, minDelta);
        return best < 0 ? null : curve[best];
    }

    /// <summary>
    /// True when the last <paramref name="patience"/> epochs brought no improvement over the best before them.
    /// A patience of 0 or less never stops.
    /// </summary>
    public static bool ShouldStop(IReadOnlyList<EpochMetrics> curve, int patience, double minDelta = 0)
    {
        ArgumentNullException.ThrowIfNull(curve);
        ArgumentOutOfRangeException.ThrowIfNegative(minDelta);
        var best = BestIndex(curve, minDelta);
        return patience > 0 && best >= 0 && curve.Count - 1 - best >= patience;
    }

    private static int BestIndex(IReadOnlyList<EpochMetrics> curve, double minDelta)
    {
        var best = -1;
        for (var i = 0; i < curve.Count; i++)
        {
            if (best < 0 || curve[i].Holdout.LogLoss < curve[best].Holdout.LogLoss - minDelta)
            {
                best = i;
            }
        }

        return best;
    }
}
