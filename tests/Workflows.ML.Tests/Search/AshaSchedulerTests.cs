using System.Text.Json;
using Workflows.ML.Search.Asha;
using Xunit;

namespace Workflows.ML.Tests.Search;

public sealed class AshaSchedulerTests
{
    // Rungs 1, 3, 9 (r = 1, R = 10, η = 3).
    private static readonly AshaOptions Options = new(MinResource: 1, MaxResource: 10, Factor: 3);

    [Fact]
    public void Options_RungsGrowByTheFactorUpToTheMax()
    {
        Assert.Equal(3, Options.RungCount);
        Assert.Equal([1, 3, 9], Enumerable.Range(0, 3).Select(k => Options.ResourceAt(0, k)));
        Assert.Equal(1, new AshaOptions(5, 5).RungCount);
        Assert.Equal(4, new AshaOptions(2, 16, Factor: 2).RungCount);
    }

    [Fact]
    public void NextJob_EmptyTable_StartsTrialZeroAtRungZero()
    {
        Assert.Equal(new AshaJob(AshaJobKind.Start, 0, 0, 0, 1), AshaScheduler.NextJob(RungTable.Empty, Options));
    }

    [Fact]
    public void NextJob_TopThirdOfARung_IsPromotedWithItsCheckpoint()
    {
        var table = Table(
            new RungEntry(0, 0, 0, 1, 0.5, "t0/r0"),
            new RungEntry(1, 0, 0, 1, 0.9, "t1/r0"),
            new RungEntry(2, 0, 0, 1, 0.7, "t2/r0"));

        Assert.Equal(new AshaJob(AshaJobKind.Promote, 1, 0, 1, 3, "t1/r0"), AshaScheduler.NextJob(table, Options));
    }

    [Fact]
    public void NextJob_NoOneInTheTopFraction_StartsANewTrialInsteadOfWaiting()
    {
        // Two scores: floor(2 / 3) = 0 promotable; trial 2 is still running and nobody waits for it.
        var table = Table(new RungEntry(0, 0, 0, 1, 0.5), new RungEntry(1, 0, 0, 1, 0.9), new RungEntry(2, 0, 0, 1));

        Assert.Equal(new AshaJob(AshaJobKind.Start, 3, 0, 0, 1), AshaScheduler.NextJob(table, Options));
    }

    [Fact]
    public void NextJob_AlreadyPromoted_IsNotPromotedAgain()
    {
        // Trial 1 (the top third of 3) runs at rung 1; with 6 scores the top 2 are 1 and 4: 4 is promoted next.
        var table = Table(
            new RungEntry(0, 0, 0, 1, 0.5),
            new RungEntry(1, 0, 0, 1, 0.9),
            new RungEntry(2, 0, 0, 1, 0.7),
            new RungEntry(1, 0, 1, 3),
            new RungEntry(3, 0, 0, 1, 0.1),
            new RungEntry(4, 0, 0, 1, 0.8),
            new RungEntry(5, 0, 0, 1, 0.8));

        Assert.Equal(new AshaJob(AshaJobKind.Promote, 4, 0, 1, 3), AshaScheduler.NextJob(table, Options));
        Assert.Equal(AshaJobKind.Start, AshaScheduler.NextJob(table.Begin(AshaScheduler.NextJob(table, Options)), Options).Kind);
    }

    [Fact]
    public void NextJob_HigherRungsArePromotedFirst_AndTheTopRungNever()
    {
        var entries = new List<RungEntry>();
        for (var t = 0; t < 9; t++)
        {
            entries.Add(new RungEntry(t, 0, 0, 1, t / 10.0));
        }

        // Trials 8, 7, 6 were promoted to rung 1 and scored; the top third of rung 1 (trial 8) goes to rung 2
        // before rung 0's next best would be considered.
        entries.Add(new RungEntry(8, 0, 1, 3, 0.95));
        entries.Add(new RungEntry(7, 0, 1, 3, 0.75));
        entries.Add(new RungEntry(6, 0, 1, 3, 0.65));
        var table = Table([.. entries]);

        Assert.Equal(new AshaJob(AshaJobKind.Promote, 8, 0, 2, 9), AshaScheduler.NextJob(table, Options));

        var atTop = table.Begin(AshaScheduler.NextJob(table, Options)).Complete(8, 2, 0.99, "t8/r2");
        Assert.Equal(AshaJobKind.Start, AshaScheduler.NextJob(atTop, Options).Kind);
        Assert.Equal(new RungEntry(8, 0, 2, 9, 0.99, "t8/r2"), AshaScheduler.Best(atTop));
    }

    [Fact]
    public void NextJob_Brackets_AreAssignedRoundRobinFromTheTrialIndex()
    {
        var options = Options with { Brackets = 2 };
        var table = RungTable.Empty;
        var starts = new List<AshaJob>();
        for (var i = 0; i < 4; i++)
        {
            var job = AshaScheduler.NextJob(table, options);
            starts.Add(job);
            table = table.Begin(job);
        }

        // Bracket 1 starts at r · η = 3 and has rungs 3, 9 only.
        Assert.Equal([(0, 1), (1, 3), (0, 1), (1, 3)], starts.Select(j => (j.Bracket, j.Resource)));
        Assert.Equal(1, options.TopRung(1));
        Assert.Throws<ArgumentException>(() => AshaScheduler.NextJob(Table(new RungEntry(1, 0, 0, 1)), options with { }));
    }

    [Fact]
    public void NextJob_MaxTrialsStarted_AndNothingPromotable_IsNothing_ThenFinished()
    {
        var options = Options with { MaxTrials = 2 };
        var table = Table(new RungEntry(0, 0, 0, 1, 0.5), new RungEntry(1, 0, 0, 1));

        Assert.Equal(AshaJobKind.None, AshaScheduler.NextJob(table, options).Kind);
        Assert.False(AshaScheduler.IsFinished(table, options));
        Assert.True(AshaScheduler.IsFinished(table.Complete(1, 0, 0.4), options));
    }

    [Fact]
    public void FullRun_TheBestTrialReachesTheTopRung()
    {
        // A sequential driver: each job completes at once with score = quality(trial) + resource / 100.
        var options = new AshaOptions(1, 27, Factor: 3, MaxTrials: 27);
        var table = RungTable.Empty;
        static double Quality(int trial) => ((trial * 7) % 27) / 27.0;
        while (!AshaScheduler.IsFinished(table, options))
        {
            var job = AshaScheduler.NextJob(table, options);
            table = table.Begin(job).Complete(job.Trial, job.Rung, Quality(job.Trial) + (job.Resource / 100.0), $"t{job.Trial}/r{job.Rung}");
        }

        var best = AshaScheduler.Best(table)!;
        Assert.Equal(27, table.TrialCount);
        Assert.Equal(27, best.Resource);
        Assert.Equal(Enumerable.Range(0, 27).MaxBy(Quality), best.Trial);
    }

    [Fact]
    public void Table_RoundTripsThroughJson()
    {
        var table = Table(new RungEntry(0, 0, 0, 1, 0.5, "a"), new RungEntry(1, 0, 0, 1));

        var back = JsonSerializer.Deserialize<RungTable>(JsonSerializer.Serialize(table))!;

        Assert.Equal(table.Entries, back.Entries);
    }

    [Theory]
    [InlineData(1, 10, 1, 1, "factor >= 2")]
    [InlineData(10, 1, 3, 1, "min resource (10) is greater than its max resource (1)")]
    [InlineData(0, 10, 3, 1, "at least 1")]
    [InlineData(1, 10, 3, 4, "brackets must be 1..3")]
    public void Options_Bad_AreClearErrors(int min, int max, int factor, int brackets, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => AshaScheduler.NextJob(RungTable.Empty, new AshaOptions(min, max, factor, brackets)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Table_Inconsistent_IsAClearError()
    {
        Assert.Throws<ArgumentException>(() => AshaScheduler.NextJob(Table(new RungEntry(0, 0, 0, 2, 0.5)), Options));
        Assert.Throws<ArgumentException>(() => AshaScheduler.NextJob(Table(new RungEntry(0, 0, 1, 3, 0.5)), Options));
        Assert.Throws<ArgumentException>(() => AshaScheduler.NextJob(Table(new RungEntry(1, 0, 0, 1, 0.5)), Options));
        Assert.Throws<InvalidOperationException>(() => Table(new RungEntry(0, 0, 0, 1, 0.5)).Complete(0, 0, 0.6));
    }

    private static RungTable Table(params RungEntry[] entries) => new(entries);
}
