using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Training;

public sealed class EarlyStoppingTests
{
    [Fact]
    public void ShouldStop_NoImprovementForPatienceEpochs_Stops()
    {
        var curve = Curve(0.50, 0.40, 0.41, 0.42);

        Assert.True(EarlyStopping.ShouldStop(curve, patience: 2));
        Assert.False(EarlyStopping.ShouldStop(curve, patience: 3));
        Assert.Equal(2, EarlyStopping.Best(curve)!.Epoch);
    }

    [Fact]
    public void ShouldStop_StillImproving_Continues()
    {
        Assert.False(EarlyStopping.ShouldStop(Curve(0.50, 0.45, 0.40), patience: 1));
    }

    [Fact]
    public void ShouldStop_GainsBelowMinDelta_CountAsNoImprovement()
    {
        var curve = Curve(0.400, 0.399, 0.398);

        Assert.True(EarlyStopping.ShouldStop(curve, patience: 2, minDelta: 0.01));
        Assert.False(EarlyStopping.ShouldStop(curve, patience: 2));
        Assert.Equal(1, EarlyStopping.Best(curve, minDelta: 0.01)!.Epoch);
    }

    [Fact]
    public void ShouldStop_PatienceZeroOrEmptyCurve_NeverStops()
    {
        Assert.False(EarlyStopping.ShouldStop(Curve(0.5, 0.6, 0.7), patience: 0));
        Assert.False(EarlyStopping.ShouldStop([], patience: 1));
        Assert.Null(EarlyStopping.Best([]));
    }

    private static EpochMetrics[] Curve(params double[] logLosses) =>
        logLosses.Select((loss, i) => new EpochMetrics(i + 1, (i + 1) * 1000L, new EvaluationMetrics(100, 0.8, loss, 0.9))).ToArray();
}
