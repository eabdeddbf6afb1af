using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Training;

public sealed class EpochPlanTests
{
    [Fact]
    public void ChunkOrder_AnyEpoch_IsAPermutationThatChangesPerEpochAndRepeatsPerSeed()
    {
        var epoch0 = EpochPlan.ChunkOrder(5, 0, 100);
        var epoch1 = EpochPlan.ChunkOrder(5, 1, 100);

        Assert.Equal(Enumerable.Range(0, 100), epoch0.Order());
        Assert.Equal(Enumerable.Range(0, 100), epoch1.Order());
        Assert.NotEqual(epoch0, epoch1);
        Assert.Equal(epoch0, EpochPlan.ChunkOrder(5, 0, 100));
        Assert.NotEqual(epoch0, EpochPlan.ChunkOrder(6, 0, 100));
    }

    [Fact]
    public void WorkerChunks_ThreeWorkers_DisjointBalancedAndCoverEveryChunk()
    {
        var plan = EpochPlan.WorkerChunks(5, 2, 10, 3);

        Assert.Equal([4, 3, 3], plan.Select(chunks => chunks.Length));
        Assert.Equal(Enumerable.Range(0, 10), plan.SelectMany(chunks => chunks).Order());
        Assert.Equal(EpochPlan.ChunkOrder(5, 2, 10)[0], plan[0][0]);
    }

    [Fact]
    public void WorkerChunks_MoreWorkersThanChunks_SomeWorkersGetNothing()
    {
        var plan = EpochPlan.WorkerChunks(1, 0, 2, 4);

        Assert.Equal([1, 1, 0, 0], plan.Select(chunks => chunks.Length));
    }
}
