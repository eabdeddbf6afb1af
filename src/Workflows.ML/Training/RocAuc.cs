namespace Workflows.ML.Training;

/// <summary>ROC AUC by the rank-sum (Mann–Whitney) formula, with tied scores given their average rank.</summary>
internal static class RocAuc
{
    /// <summary>
    /// AUC of <paramref name="scores"/> (finite) against <paramref name="positive"/>; NaN when either class is empty.
    /// <paramref name="scratch"/> must be as long as the inputs.
    /// </summary>
    /// <remarks>
    /// Each (score, label) pair is packed into one 64-bit key whose unsigned order is the score's order, so a single
    /// primitive sort ranks them: a few milliseconds for 100,000 rows, where sorting the scores with the labels as
    /// items ran generic code the runtime compiles slowly at first and took several times longer in a fresh worker.
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static double Compute(ReadOnlySpan<float> scores, ReadOnlySpan<bool> positive, Span<ulong> scratch)
    {
        var n = scores.Length;
        var keys = scratch[..n];
        for (var k = 0; k < n; k++)
        {
            keys[k] = ((ulong)OrderedBits(scores[k]) << 1) | (positive[k] ? 1UL : 0UL);
        }

        keys.Sort();

        double positiveRankSum = 0;
        long positives = 0;
        var i = 0;
        while (i < n)
        {
            var score = keys[i] >> 1;
            var j = i;
            long tiedPositives = 0;
            while (j < n && keys[j] >> 1 == score)
            {
                tiedPositives += (long)(keys[j] & 1UL);
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

    /// <summary>The float's bits mapped so that unsigned order is numeric order (-0 and +0 map alike).</summary>
    private static uint OrderedBits(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value + 0f);
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }
}
