using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Training;

public sealed class LogisticRegressionTrainerTests
{
    private const int Features = 10;

    [Fact]
    public void TrainChunk_SeparableBinaryData_HoldoutAccuracyAbove90Percent()
    {
        var options = new TrainingOptions(Features, 2, LearningRate: 0.5f, Seed: 7);

        var (_, metrics) = TrainingRuns.TrainAndEvaluate(options, trainRows: 4000, chunkRows: 500, epochs: 3);

        Assert.True(metrics.Accuracy > 0.9, $"accuracy {metrics.Accuracy}");
        Assert.True(metrics.RocAuc > 0.97, $"AUC {metrics.RocAuc}");
        Assert.True(metrics.LogLoss < 0.3, $"log loss {metrics.LogLoss}");
        Assert.Equal(1000, metrics.Rows);
    }

    [Fact]
    public void TrainChunk_MultinomialData_HoldoutAccuracyAbove85Percent()
    {
        var options = new TrainingOptions(Features, 4, LearningRate: 0.5f, Seed: 7);

        var (state, metrics) = TrainingRuns.TrainAndEvaluate(options, trainRows: 6000, chunkRows: 500, epochs: 3);

        Assert.Equal(4 * Features, state.Weights.Length);
        Assert.True(metrics.Accuracy > 0.85, $"accuracy {metrics.Accuracy}");
        Assert.True(metrics.RocAuc > 0.95, $"AUC {metrics.RocAuc}");
    }

    [Theory]
    [InlineData(LearningRateSchedule.Constant, 0.05f)]
    [InlineData(LearningRateSchedule.Optimal, 0f)]
    public void TrainChunk_OtherSchedules_Converge(LearningRateSchedule schedule, float learningRate)
    {
        var options = new TrainingOptions(Features, 2, schedule, learningRate, L2: 1e-3f, Seed: 7);

        var (_, metrics) = TrainingRuns.TrainAndEvaluate(options, trainRows: 4000, chunkRows: 500, epochs: 2);

        Assert.True(metrics.Accuracy > 0.9, $"accuracy {metrics.Accuracy}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Run_SameSeedAndWorkers_BitIdenticalWeights(int workers)
    {
        var train = LinearProblem.Create(3000, Features, 3, seed: 5);
        var standardization = train.Standardization();
        var options = new TrainingOptions(Features, 3, Seed: 11);

        var first = TrainingRuns.Run(options, standardization, train.Chunks(256), epochs: 2, workers);
        var second = TrainingRuns.Run(options, standardization, train.Chunks(256), epochs: 2, workers);
        var otherSeed = TrainingRuns.Run(options with { Seed = 12 }, standardization, train.Chunks(256), epochs: 2, workers);

        Assert.Equal(first.Weights.ToArray(), second.Weights.ToArray());
        Assert.Equal(first.Bias.ToArray(), second.Bias.ToArray());
        Assert.NotEqual(first.Weights.ToArray(), otherSeed.Weights.ToArray());
    }

    [Fact]
    public void Run_WorkersOnParallelThreads_SameWeightsAsOneThread()
    {
        var train = LinearProblem.Create(3000, Features, 2, seed: 5);
        var standardization = train.Standardization();
        var options = new TrainingOptions(Features, 2, Seed: 3);
        var start = TrainerState.CreateInitial(options);

        var sequential = DataParallelEpoch.Run(options, standardization, start, 0, train.Chunks(200), workers: 4, maxThreads: 1);
        var parallel = DataParallelEpoch.Run(options, standardization, start, 0, train.Chunks(200), workers: 4, maxThreads: 4);

        Assert.Equal(sequential.Weights.ToArray(), parallel.Weights.ToArray());
        Assert.Equal(3000, parallel.RowsSeen);
        Assert.Equal(0, start.RowsSeen);
    }

    [Fact]
    public void Run_FourWorkers_StillConverges()
    {
        var options = new TrainingOptions(Features, 2, LearningRate: 0.5f, Seed: 7);

        var (state, metrics) = TrainingRuns.TrainAndEvaluate(options, trainRows: 4000, chunkRows: 250, epochs: 3, workers: 4);

        Assert.True(metrics.Accuracy > 0.9, $"accuracy {metrics.Accuracy}");
        Assert.Equal(3 * 4000, state.RowsSeen);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void TrainChunk_SecondChunkOfTheSameSize_AllocatesNothing(int classes)
    {
        var train = LinearProblem.Create(2000, Features, classes, seed: 9);
        var options = new TrainingOptions(Features, classes, BatchSize: 16);
        var trainer = new LogisticRegressionTrainer(options, train.Standardization());
        var state = TrainerState.CreateInitial(options);
        trainer.TrainChunk(state, 0, 0, train.Features, train.Labels, train.Rows);

        var before = GC.GetAllocatedBytesForCurrentThread();
        trainer.TrainChunk(state, 0, 1, train.Features, train.Labels, train.Rows);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void TrainChunk_NaNFeature_TrainsAsIfTheFeatureWereItsMean()
    {
        var train = LinearProblem.Create(200, Features, 2, seed: 9);
        var standardization = train.Standardization();
        var options = new TrainingOptions(Features, 2, Seed: 1);
        var withNaN = (float[])train.Features.Clone();
        var withMean = (float[])train.Features.Clone();
        withNaN[(17 * Features) + 4] = float.NaN;
        withMean[(17 * Features) + 4] = standardization.Mean[4];
        var nanState = TrainerState.CreateInitial(options);
        var meanState = TrainerState.CreateInitial(options);
        var trainer = new LogisticRegressionTrainer(options, standardization);

        trainer.TrainChunk(nanState, 0, 0, withNaN, train.Labels, train.Rows);
        trainer.TrainChunk(meanState, 0, 0, withMean, train.Labels, train.Rows);

        Assert.Equal(meanState.Weights.ToArray(), nanState.Weights.ToArray());
        Assert.All(nanState.Weights.ToArray(), w => Assert.True(float.IsFinite(w)));
    }

    [Fact]
    public void TrainChunk_InfiniteFeature_ThrowsNamingChunkRowAndColumn()
    {
        var train = LinearProblem.Create(100, Features, 2, seed: 9);
        var features = (float[])train.Features.Clone();
        features[(42 * Features) + 3] = float.PositiveInfinity;
        var options = new TrainingOptions(Features, 2);
        var trainer = new LogisticRegressionTrainer(options, train.Standardization());

        var error = Assert.Throws<TrainingDataException>(() => trainer.TrainChunk(TrainerState.CreateInitial(options), 0, 6, features, train.Labels, train.Rows));

        Assert.Contains("Feature 3 of row 42 in chunk 6", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnsureSeveralClassesSeen_SingleClassData_ThrowsReadableError()
    {
        var train = LinearProblem.Create(300, Features, 2, seed: 9);
        var labels = new int[train.Rows];
        Array.Fill(labels, 1);
        var options = new TrainingOptions(Features, 2);
        var state = TrainerState.CreateInitial(options);
        new LogisticRegressionTrainer(options, train.Standardization()).TrainChunk(state, 0, 0, train.Features, labels, train.Rows);

        var error = Assert.Throws<TrainingDataException>(state.EnsureSeveralClassesSeen);

        Assert.Contains("single class: all 300 rows have label 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnsureSeveralClassesSeen_TwoClasses_DoesNotThrow()
    {
        var train = LinearProblem.Create(300, Features, 2, seed: 9);
        var options = new TrainingOptions(Features, 2);
        var state = TrainerState.CreateInitial(options);
        new LogisticRegressionTrainer(options, train.Standardization()).TrainChunk(state, 0, 0, train.Features, train.Labels, train.Rows);

        state.EnsureSeveralClassesSeen();

        Assert.Equal(300, state.ClassCounts[0] + state.ClassCounts[1]);
        Assert.True(state.ClassCounts[0] > 0 && state.ClassCounts[1] > 0);
    }

    [Fact]
    public void TrainChunk_LabelOutOfRange_ThrowsNamingChunkRowAndLabel()
    {
        var train = LinearProblem.Create(100, Features, 2, seed: 9);
        var labels = (int[])train.Labels.Clone();
        labels[57] = 2;
        var options = new TrainingOptions(Features, 2);
        var state = TrainerState.CreateInitial(options);

        var error = Assert.Throws<TrainingDataException>(() =>
            new LogisticRegressionTrainer(options, train.Standardization()).TrainChunk(state, 0, 3, train.Features, labels, train.Rows));

        Assert.Equal("Chunk 3, row 57: label 2 is out of range; labels must be class indices 0..1.", error.Message);
        Assert.Equal(0, state.Steps);
    }

    [Fact]
    public void TrainChunk_FeatureCountMismatch_ThrowsSayingBothCounts()
    {
        var train = LinearProblem.Create(100, Features + 2, 2, seed: 9);
        var options = new TrainingOptions(Features, 2);
        var trainer = new LogisticRegressionTrainer(options, FeatureStandardization.Identity(Features));

        var error = Assert.Throws<TrainingDataException>(() => trainer.TrainChunk(TrainerState.CreateInitial(options), 0, 1, train.Features, train.Labels, train.Rows));

        Assert.Contains("12 features per row", error.Message, StringComparison.Ordinal);
        Assert.Contains("the model has 10 features", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_StandardizationOfOtherWidth_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => new LogisticRegressionTrainer(new TrainingOptions(Features, 2), FeatureStandardization.Identity(9)));

        Assert.Contains("9 features", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, LearningRateSchedule.Constant, 1e-4f, "ClassCount must be at least 2")]
    [InlineData(2, LearningRateSchedule.Optimal, 0f, "Optimal learning-rate schedule needs L2 > 0")]
    public void Validate_BadOptions_ThrowsNamingTheOption(int classes, LearningRateSchedule schedule, float l2, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => new TrainingOptions(Features, classes, schedule, L2: l2).Validate());

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LearningRateAt_Schedules_FollowTheirFormulas()
    {
        var standardization = FeatureStandardization.Identity(1);
        var constant = new LogisticRegressionTrainer(new TrainingOptions(1, 2, LearningRateSchedule.Constant, 0.2f), standardization);
        var inverse = new LogisticRegressionTrainer(new TrainingOptions(1, 2, LearningRateSchedule.InverseScaling, 0.2f, PowerT: 0.5f), standardization);
        var optimal = new LogisticRegressionTrainer(new TrainingOptions(1, 2, LearningRateSchedule.Optimal, L2: 0.01f), standardization);

        Assert.Equal(0.2f, constant.LearningRateAt(1000));
        Assert.Equal(0.2f, inverse.LearningRateAt(0), 6);
        Assert.Equal(0.2f / 10f, inverse.LearningRateAt(99), 6);

        // t0 = 1 / (sqrt(1 / sqrt(alpha)) * alpha) = 1 / (sqrt(10) * 0.01).
        var t0 = 1.0 / (Math.Sqrt(10.0) * 0.01);
        Assert.Equal((float)(1.0 / (0.01 * (t0 + 50))), optimal.LearningRateAt(50), 6);
    }
}
