using Workflows.Durable;
using Workflows.ML.Data;
using Workflows.ML.Training;

namespace Workflows.Functions.Training;

/// <summary>
/// Scores the holdout with an epoch's model (accuracy, log loss, ROC AUC) and stores the metrics in that epoch's
/// checkpoint, so a checkpoint holds weights, optimizer state, epoch and metrics. Also where a whole epoch is checked
/// to have seen two classes, whatever K was.
/// </summary>
[DurableTask(Name)]
public sealed class EvaluateHoldoutActivity(IDatasetStorage storage, DecodedChunkCache chunkCache) : TaskActivity<EvaluateHoldoutInput, EpochMetrics>
{
    /// <summary>Registered name.</summary>
    public const string Name = "EvaluateHoldout";

    public override async Task<EpochMetrics> RunAsync(TaskActivityContext context, EvaluateHoldoutInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var cancellationToken = context.CancellationToken;
        var checkpoint = await TrainingStorage.ReadCheckpointAsync(storage, input.Checkpoint, cancellationToken);
        checkpoint.EnsureResumableWith(input.Options);
        checkpoint.State.EnsureSeveralClassesSeen();
        var standardization = await TrainingStorage.LoadStandardizationAsync(storage, input.StatsArtifact, input.Features, cancellationToken);
        var evaluator = new HoldoutEvaluator(LogisticRegressionModel.FromState(checkpoint.State, standardization));
        var reader = new DatasetReader(storage);
        foreach (var chunk in input.Holdout.Chunks)
        {
            var data = await TrainingStorage.ReadChunkAsync(chunkCache, input.RunFolder, reader, input.Holdout, chunk, input.Features, cancellationToken);
            evaluator.Add(data.Features.Span, data.Labels.Span, data.RowCount, data.Index);
        }

        var metrics = new EpochMetrics(input.Epoch, checkpoint.State.RowsSeen, evaluator.Compute());

        // A retried evaluation finds its own point already on the curve and writes the same checkpoint again.
        var curve = checkpoint.LearningCurve.Where(m => m.Epoch < input.Epoch).Append(metrics).ToList();
        await storage.WriteAsync(input.Checkpoint, (checkpoint with { LearningCurve = curve }).ToJson(), cancellationToken);
        return metrics;
    }
}
