using Workflows.ML.Training;

namespace Workflows.ML.Tests.Training;

/// <summary>Runs whole trainings over in-memory chunks for the tests.</summary>
internal static class TrainingRuns
{
    public static TrainerState Run(TrainingOptions options, FeatureStandardization standardization, TrainingChunk[] chunks, int epochs, int workers = 1, TrainerState? start = null, int firstEpoch = 0)
    {
        var state = start ?? TrainerState.CreateInitial(options);
        for (var epoch = firstEpoch; epoch < firstEpoch + epochs; epoch++)
        {
            state = DataParallelEpoch.Run(options, standardization, state, epoch, chunks, workers);
        }

        return state;
    }

    /// <summary>Trains on a fresh problem of the options' shape and evaluates on a 1,000-row holdout of the same problem.</summary>
    public static (TrainerState State, EvaluationMetrics Holdout) TrainAndEvaluate(TrainingOptions options, int trainRows, int chunkRows, int epochs, int workers = 1)
    {
        var train = LinearProblem.Create(trainRows, options.FeatureCount, options.ClassCount, seed: 1);
        var holdout = LinearProblem.Create(1000, options.FeatureCount, options.ClassCount, seed: 2);
        var standardization = train.Standardization();
        var state = Run(options, standardization, train.Chunks(chunkRows), epochs, workers);
        return (state, Evaluate(state, standardization, holdout.Chunks(300)));
    }

    public static EvaluationMetrics Evaluate(TrainerState state, FeatureStandardization standardization, TrainingChunk[] holdout)
    {
        var evaluator = new HoldoutEvaluator(LogisticRegressionModel.FromState(state, standardization));
        foreach (var chunk in holdout)
        {
            evaluator.Add(chunk.Features.Span, chunk.Labels.Span, chunk.RowCount, chunk.Index);
        }

        return evaluator.Compute();
    }
}
