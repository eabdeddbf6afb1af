using System.Globalization;
using Workflows.ML.Numerics;

namespace Workflows.ML.Training;

/// <summary>
/// Which chunks of a dataset are held out for evaluation when no holdout dataset is given: a seeded, uniformly random
/// choice of round(fraction × chunks) chunks, kept so that both sides have at least one chunk. Taking the last chunks
/// instead would hold out the newest or highest-sorted rows of a dataset that is appended over time or sorted.
/// The choice is a pure function of (seed, chunk count, fraction) drawn from its own stream, so every worker and every
/// replay after a crash gets the same split, and the training shuffles (<see cref="EpochPlan"/>) are the same
/// whatever the split.
/// </summary>
public static class HoldoutSplit
{
    /// <summary>
    /// How many of <paramref name="chunkCount"/> chunks a <paramref name="fraction"/> holds out: the rounded product
    /// (halves away from zero), at least 1 and at most <paramref name="chunkCount"/> - 1. Throws
    /// <see cref="ArgumentOutOfRangeException"/> with a readable reason when the fraction is not strictly between 0
    /// and 1, or when there are fewer than two chunks (no split leaves both sides a chunk).
    /// </summary>
    public static int HeldOutCount(int chunkCount, double fraction)
    {
        if (!(fraction > 0 && fraction < 1))
        {
            throw new ArgumentOutOfRangeException(
                nameof(fraction), fraction, string.Create(CultureInfo.InvariantCulture, $"holdoutFraction must be between 0 and 1 (exclusive), not {fraction}."));
        }

        if (chunkCount < 2)
        {
            throw new ArgumentOutOfRangeException(
                nameof(chunkCount),
                chunkCount,
                $"the dataset has {chunkCount} chunk{(chunkCount == 1 ? string.Empty : "s")}; holding out a fraction of chunks needs at least 2, so that training and holdout both keep one (or give a holdout dataset).");
        }

        return (int)Math.Clamp(Math.Round(fraction * chunkCount, MidpointRounding.AwayFromZero), 1, chunkCount - 1);
    }

    /// <summary>
    /// The held-out chunk positions (0-based, ascending) among <paramref name="chunkCount"/> chunks: the first
    /// <see cref="HeldOutCount"/> positions of a Fisher–Yates shuffle seeded by <paramref name="seed"/>.
    /// </summary>
    public static int[] Choose(ulong seed, int chunkCount, double fraction)
    {
        var count = HeldOutCount(chunkCount, fraction);
        var positions = new int[chunkCount];
        for (var i = 0; i < chunkCount; i++)
        {
            positions[i] = i;
        }

        SplitMix64.For(seed, EpochPlan.HoldoutSplitStream, epoch: 0, chunk: chunkCount).Shuffle(positions);
        var held = positions[..count];
        Array.Sort(held);
        return held;
    }

    /// <summary>The positions 0..<paramref name="chunkCount"/>-1 that <paramref name="heldOut"/> does not name, ascending.</summary>
    public static int[] Complement(int chunkCount, IEnumerable<int> heldOut)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        ArgumentOutOfRangeException.ThrowIfNegative(chunkCount);
        var isHeld = new bool[chunkCount];
        foreach (var position in heldOut)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(position, nameof(heldOut));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position, chunkCount, nameof(heldOut));
            isHeld[position] = true;
        }

        var rest = new List<int>(chunkCount);
        for (var i = 0; i < chunkCount; i++)
        {
            if (!isHeld[i])
            {
                rest.Add(i);
            }
        }

        return [.. rest];
    }
}
