using Workflows.ML.Numerics;
namespace Workflows.ML.Training;

/// <summary>
/// Which chunks an epoch visits in which order, and how they are split over K data-parallel workers. Everything is a
/// pure function of (seed, epoch, chunk count, K), so a replayed orchestration plans the same epoch.
/// </summary>
public static class EpochPlan
{
    internal const ulong ChunkOrderStream = 1;
    internal const ulong RowOrderStream = 2;

    /// <summary>Stream of <see cref="HoldoutSplit"/>: its own, so the split never shifts the training shuffles.</summary>
    internal const ulong HoldoutSplitStream = 3;

    /// <summary>The chunk indices 0..<paramref name="chunkCount"/>-1 in this epoch's shuffled order.</summary>
    public static int[] ChunkOrder(ulong seed, int epoch, int chunkCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunkCount);
        var order = new int[chunkCount];
        for (var i = 0; i < chunkCount; i++)
        {
            order[i] = i;
        }

        SplitMix64.For(seed, ChunkOrderStream, epoch, 0).Shuffle(order);
        return order;
    }

    /// <summary>
    /// Splits the epoch's shuffled chunk order over <paramref name="workers"/> disjoint subsets, round-robin, so each
    /// worker gets a near-equal share and keeps the shuffled order within its share.
    /// </summary>
    public static int[][] WorkerChunks(ulong seed, int epoch, int chunkCount, int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        var order = ChunkOrder(seed, epoch, chunkCount);
        var result = new int[workers][];
        for (var worker = 0; worker < workers; worker++)
        {
            var count = (chunkCount - worker + workers - 1) / workers;
            var chunks = new int[Math.Max(count, 0)];
            for (var i = 0; i < chunks.Length; i++)
            {
                chunks[i] = order[worker + (i * workers)];
            }

            result[worker] = chunks;
        }

        return result;
    }
}
