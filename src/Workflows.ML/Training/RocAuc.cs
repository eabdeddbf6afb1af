namespace Workflows.ML.Training;

/// <summary>ROC AUC by the rank-sum (Mann–Whitney) formula, with tied scores given their average rank.</summary>
internal static class RocAuc
{
    /// <summary>
    /// AUC of <paramref name="scores"/> against <paramref name="positive"/>; NaN when either class is empty.
    /// <paramref name="scratchScores"/> and <paramref name="scratchPositive"/> must be as long as the inputs.
    /// </summary>
    public static double Compute(ReadOnlySpan<float> scores, ReadOnlySpan<bool> positive, Span<float> scratchScores, Span<bool> scratchPositive)
    {
        var n = scores.Length;
        scores.CopyTo(scratchScores);
        positive.CopyTo(scratchPositive);
        var sortedScores = scratchScores[..n];
        var sortedPositive = scratchPositive[..n];
        sortedScores.Sort(sortedPositive);

        double positiveRankSum = 0;
        long positives = 0;
        var i = 0;
        while (i < n)
        {
            var j = i;
            long tiedPositives = 0;
            while (j < n && sortedScores[j] == sortedScores[i])
            {
                tiedPositives += sortedPositive[j] ? 1 : 0;
                j++;
            }

            // Ranks are 1-based; a tie group from i to j-1 shares the mean of its ranks.
            var averageRank = (i + 1 + j) / 2.0;
            positiveRankSum += averageRank * tiedPositives;
            positives += tiedPositives;
            i = j;
        }

        var negatives = n - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        return (positiveRankSum - (positives * (positives + 1) / 2.0)) / ((double)positives * negatives);
    }
}
