using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Training;

public sealed class TrainingCheckpointTests
{
    private const int Features = 8;

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(2, 3)]
    public void FromJson_ResumeAfterOneEpoch_SameWeightsAsUninterruptedTraining(int classes, int workers)
    {
        var train = LinearProblem.Create(2000, Features, classes, seed: 21);
        var standardization = train.Standardization();
        var options = new TrainingOptions(Features, classes, LearningRateSchedule.InverseScaling, 0.3f, BatchSize: 16, Seed: 99);
        var chunks = train.Chunks(300);

        var uninterrupted = TrainingRuns.Run(options, standardization, chunks, epochs: 2, workers);
        var afterOne = TrainingRuns.Run(options, standardization, chunks, epochs: 1, workers);
        var json = new TrainingCheckpoint(1, afterOne, [], options).ToJson();
        var restored = TrainingCheckpoint.FromJson(json);
        restored.EnsureResumableWith(options);
        var resumed = TrainingRuns.Run(options, standardization, chunks, epochs: 1, workers, restored.State, firstEpoch: restored.EpochsCompleted);

        Assert.Equal(uninterrupted.Weights.ToArray(), resumed.Weights.ToArray());
        Assert.Equal(uninterrupted.Bias.ToArray(), resumed.Bias.ToArray());
        Assert.Equal(uninterrupted.Steps, resumed.Steps);
        Assert.Equal(uninterrupted.RowsSeen, resumed.RowsSeen);
    }

    [Fact]
    public void FromJson_AwkwardFloats_RoundTripBitForBit()
    {
        float[] weights = [0.1f, -0.0f, float.Epsilon, float.MaxValue, 1f / 3f, -123456.79f];
        var state = TrainerState.FromParts(2, 3, weights, [1e-30f, 2f, -7.5f], steps: 41, rowsSeen: 1234567890123, [5, 0, 7]);
        EpochMetrics[] curve = [new(1, 1000, new EvaluationMetrics(500, 0.75, 0.5123456789012345, double.NaN))];

        var restored = TrainingCheckpoint.FromJson(new TrainingCheckpoint(4, state, curve).ToJson());

        Assert.Equal(weights.Select(BitConverter.SingleToInt32Bits), restored.State.Weights.ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(state.Bias.ToArray(), restored.State.Bias.ToArray());
        Assert.Equal(41, restored.State.Steps);
        Assert.Equal(1234567890123, restored.State.RowsSeen);
        Assert.Equal([5L, 0L, 7L], restored.State.ClassCounts.ToArray());
        Assert.Equal(4, restored.EpochsCompleted);
        Assert.Equal(curve[0], Assert.Single(restored.LearningCurve));
    }

    [Fact]
    public void EnsureResumableWith_OtherHyperParameters_Throws()
    {
        var options = new TrainingOptions(Features, 2, LearningRateSchedule.Constant, 0.1f, Seed: 5);
        var restored = TrainingCheckpoint.FromJson(new TrainingCheckpoint(2, TrainerState.CreateInitial(options), [], options).ToJson());

        restored.EnsureResumableWith(options);
        var error = Assert.Throws<InvalidOperationException>(() => restored.EnsureResumableWith(options with { Seed = 6 }));

        Assert.Equal(options, restored.Options);
        Assert.Contains("after epoch 2", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => restored.EnsureResumableWith(options with { FeatureCount = Features + 1 }));
    }

    [Fact]
    public void FromJson_InconsistentState_ThrowsNamingTheShape()
    {
        var json = """{"format":1,"epochsCompleted":1,"featureCount":3,"classCount":2,"weights":[1,2],"bias":[0],"steps":1,"rowsSeen":1,"classCounts":[1,1],"learningCurve":[]}"""u8.ToArray();

        var error = Assert.Throws<ArgumentException>(() => TrainingCheckpoint.FromJson(json));

        Assert.Contains("3 features, 2 classes, 2 weights", error.Message, StringComparison.Ordinal);
    }
}
