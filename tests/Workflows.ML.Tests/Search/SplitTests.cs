using Workflows.ML.Search.Splits;
using Xunit;

namespace Workflows.ML.Tests.Search;

public sealed class SplitTests
{
    // 14 rows of class 0, 7 of class 1, 4 of class 2, interleaved.
    private static readonly int[] Labels = [.. Enumerable.Range(0, 25).Select(i => i < 21 ? i % 3 == 0 ? 1 : 0 : 2)];

    [Fact]
    public void KFold_EveryRowIsTestedOnce_AndEachFoldIsStratified()
    {
        var folds = StratifiedKFold.Split(Labels, k: 4, seed: 11);

        Assert.Equal(4, folds.Count);
        Assert.Equal(Enumerable.Range(0, Labels.Length), folds.SelectMany(f => f.Test).Order());
        foreach (var fold in folds)
        {
            Assert.Equal(Enumerable.Range(0, Labels.Length), fold.Train.Concat(fold.Test).Order());
            Assert.Equal(fold.Test.Order(), fold.Test);
            Assert.Equal(fold.Train.Order(), fold.Train);
            Assert.InRange(fold.Test.Count, 6, 7);
            for (var c = 0; c < 3; c++)
            {
                var total = Labels.Count(l => l == c);
                var inFold = fold.Test.Count(row => Labels[row] == c);
                Assert.InRange(inFold, total / 4, (total / 4) + 1);
            }
        }
    }

    [Fact]
    public void KFold_IsFixedBySeed()
    {
        var a = StratifiedKFold.Split(Labels, 3, seed: 5);
        var b = StratifiedKFold.Split(Labels, 3, seed: 5);
        var c = StratifiedKFold.Split(Labels, 3, seed: 6);

        Assert.Equal(a.Select(f => f.Test), b.Select(f => f.Test));
        Assert.NotEqual(a.Select(f => f.Test), c.Select(f => f.Test));
    }

    [Fact]
    public void KFold_MoreFoldsThanRowsOfAClass_IsAnError()
    {
        var error = Assert.Throws<ArgumentException>(() => StratifiedKFold.Split(Labels, k: 5, seed: 1));

        Assert.Contains("class 2 has only 4 row(s)", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => StratifiedKFold.Split(Labels, k: 1, seed: 1));
        Assert.Throws<ArgumentException>(() => StratifiedKFold.Split([0, -1, 1], k: 2, seed: 1));
    }

    [Fact]
    public void Subsample_KeepsTheClassProportions_AndIsFixedBySeed()
    {
        var rows = StratifiedSubsample.Select(Labels, n: 10, seed: 3);

        Assert.Equal(10, rows.Length);
        Assert.Equal(rows.Order(), rows);
        Assert.Equal(10, rows.Distinct().Count());
        // 10 · (14, 7, 4) / 25 = (5.6, 2.8, 1.6): floors (5, 2, 1); the two rows left go to the largest remainders,
        // class 1's 0.8 and then class 0's 0.6 (tied with class 2's, the lower class first).
        Assert.Equal(6, rows.Count(r => Labels[r] == 0));
        Assert.Equal(3, rows.Count(r => Labels[r] == 1));
        Assert.Equal(1, rows.Count(r => Labels[r] == 2));
        Assert.Equal(rows, StratifiedSubsample.Select(Labels, 10, seed: 3));
        Assert.NotEqual(rows, StratifiedSubsample.Select(Labels, 10, seed: 4));
        Assert.Equal(Enumerable.Range(0, 25), StratifiedSubsample.Select(Labels, 25, seed: 3));
    }

    [Fact]
    public void Subsample_ImpossibleSize_IsAnError()
    {
        Assert.Throws<ArgumentException>(() => StratifiedSubsample.Select(Labels, 26, seed: 1));
        Assert.Throws<ArgumentException>(() => StratifiedSubsample.Select(Labels, 0, seed: 1));
    }
}
