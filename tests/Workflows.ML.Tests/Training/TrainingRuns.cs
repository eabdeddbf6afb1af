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
