using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Training;

public sealed class HoldoutSplitTests
{
    [Theory]
    [InlineData(10, 0.2, 2)]
    [InlineData(10, 0.25, 3)]
    [InlineData(6, 0.34, 2)]
    [InlineData(3, 0.01, 1)]
    [InlineData(3, 0.99, 2)]
    [InlineData(2, 0.5, 1)]
    [InlineData(100, 0.1, 10)]
    public void HeldOutCount_AnyFraction_RoundsAndKeepsAChunkOnEachSide(int chunks, double fraction, int expected)
    {
        Assert.Equal(expected, HoldoutSplit.HeldOutCount(chunks, fraction));
        Assert.Equal(expected, HoldoutSplit.Choose(3, chunks, fraction).Length);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.2)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void HeldOutCount_FractionOutsideZeroToOne_ThrowsNamingIt(double fraction)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => HoldoutSplit.Choose(1, 10, fraction));

        Assert.StartsWith("holdoutFraction must be between 0 and 1 (exclusive)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void HeldOutCount_FewerThanTwoChunks_ThrowsSayingBothSidesNeedOne(int chunks)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => HoldoutSplit.HeldOutCount(chunks, 0.5));

        Assert.Contains("needs at least 2, so that training and holdout both keep one", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_SameSeed_SameChunksAscendingAndDistinct()
    {
        var first = HoldoutSplit.Choose(7, 50, 0.2);

        Assert.Equal(first, HoldoutSplit.Choose(7, 50, 0.2));
        Assert.Equal(first.Order(), first);
        Assert.Equal(first.Length, first.Distinct().Count());
        Assert.All(first, position => Assert.InRange(position, 0, 49));
    }

    [Fact]
    public void Choose_OtherSeeds_OtherChunks()
    {
        var splits = Enumerable.Range(0, 20).Select(seed => string.Join(',', HoldoutSplit.Choose((ulong)seed, 50, 0.2))).ToList();

        // 20 seeds, C(50, 10) possible splits: all different.
        Assert.Equal(20, splits.Distinct().Count());
    }

    [Fact]
    public void Choose_ManySeeds_EveryChunkHeldOutSometimesNotJustTheLast()
    {
        // The old rule held out the last chunks only; the seeded choice reaches every chunk about equally often.
        var heldOut = new int[10];
        for (ulong seed = 0; seed < 1_000; seed++)
        {
            foreach (var position in HoldoutSplit.Choose(seed, 10, 0.2))
            {
                heldOut[position]++;
            }
        }

        // Each chunk is held out with probability 0.2: 200 of 1,000 expected, standard deviation about 12.6.
        Assert.All(heldOut, count => Assert.InRange(count, 140, 260));
    }

    [Fact]
    public void Choose_ThenComplement_DisjointAndCoverEveryChunk()
    {
        var held = HoldoutSplit.Choose(11, 23, 0.3);
        var train = HoldoutSplit.Complement(23, held);

        Assert.Equal(7, held.Length);
        Assert.Equal(16, train.Length);
        Assert.Empty(held.Intersect(train));
        Assert.Equal(Enumerable.Range(0, 23), held.Concat(train).Order());
        Assert.Equal(train.Order(), train);
    }

    [Fact]
    public void Choose_OwnStream_IsNotTheFirstEpochsChunkOrder()
    {
        // Drawn from the chunk-order stream, the holdout would be the chunks the first epoch visits first.
        var sameStream = EpochPlan.ChunkOrder(7, 0, 40)[..20].Order();

        Assert.NotEqual(sameStream, HoldoutSplit.Choose(7, 40, 0.5));
    }
}
