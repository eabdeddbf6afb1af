using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Training;

public sealed class ModelAveragingTests
{
    [Fact]
    public void Merge_TwoWorkers_RowWeightedMeanAndSummedCounters()
    {
        var start = TrainerState.FromParts(2, 2, [1f, 1f], [0f], steps: 10, rowsSeen: 100, [50, 50]);
        var a = TrainerState.FromParts(2, 2, [2f, 4f], [1f], steps: 13, rowsSeen: 130, [60, 70]);
        var b = TrainerState.FromParts(2, 2, [5f, 1f], [-2f], steps: 19, rowsSeen: 190, [80, 110]);

        var merged = ModelAveraging.Merge(start, [a, b]);

        // Weights 30 and 90 rows: (30 * 2 + 90 * 5) / 120 = 4.25, (30 * 4 + 90 * 1) / 120 = 1.75.
        Assert.Equal([4.25f, 1.75f], merged.Weights.ToArray());
        Assert.Equal([(30f - 180f) / 120f], merged.Bias.ToArray());
        Assert.Equal(10 + 3 + 9, merged.Steps);
        Assert.Equal(100 + 30 + 90, merged.RowsSeen);
        Assert.Equal([90L, 130L], merged.ClassCounts.ToArray());
    }

    [Fact]
    public void Merge_WorkerWithoutRows_HasNoWeight()
    {
        var start = TrainerState.FromParts(1, 2, [3f], [0f], steps: 0, rowsSeen: 0, [0, 0]);
        var trained = TrainerState.FromParts(1, 2, [7f], [1f], steps: 2, rowsSeen: 40, [20, 20]);

        var merged = ModelAveraging.Merge(start, [trained, start.Clone()]);

        Assert.Equal([7f], merged.Weights.ToArray());
    }

    [Fact]
    public void Merge_WorkerBehindTheStart_Throws()
    {
        var start = TrainerState.FromParts(1, 2, [3f], [0f], steps: 5, rowsSeen: 50, [25, 25]);
        var stale = TrainerState.FromParts(1, 2, [7f], [1f], steps: 2, rowsSeen: 20, [10, 10]);

        Assert.Throws<ArgumentException>(() => ModelAveraging.Merge(start, [stale]));
    }
}
