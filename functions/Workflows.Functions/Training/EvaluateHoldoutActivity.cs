using System.Globalization;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Training;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Training;

/// <summary>
/// Scores the holdout with an epoch's model (accuracy, log loss, ROC AUC) and stores the metrics in that epoch's
/// checkpoint, so a checkpoint holds weights, optimizer state, epoch and metrics. Also where a whole epoch is checked
/// to have seen two classes, whatever K was, and the holdout to have every class the training chunks have (it is the
/// first step that sees both: the stats artifact counts labels over the whole dataset only).
/// </summary>
public sealed class EvaluateHoldoutActivity(IDatasetStorage storage, DatasetReader reader, DecodedChunkCache chunkCache)
{
    /// <summary>Registered name.</summary>
    public const string Name = "EvaluateHoldout";

    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token.</summary>
    [Function(Name)]
    public async Task<EpochMetrics> RunAsync([ActivityTrigger] EvaluateHoldoutInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var cancellationToken = context.CancellationToken;
        var checkpoint = await TrainingStorage.ReadCheckpointAsync(storage, input.Checkpoint, cancellationToken);
        checkpoint.EnsureResumableWith(input.Options);
        checkpoint.State.EnsureSeveralClassesSeen();
        var standardization = await TrainingStorage.LoadStandardizationAsync(storage, input.StatsArtifact, input.Features, cancellationToken);
        var evaluator = new HoldoutEvaluator(LogisticRegressionModel.FromState(checkpoint.State, standardization));
        var chunks = TrainingStorage.ReadChunksAsync(
            chunkCache, input.RunFolder, reader, input.Holdout, input.Holdout.Chunks, input.Features, TrainingStorage.DefaultReadAhead, cancellationToken);
        await foreach (var data in chunks)
        {
            evaluator.Add(data.Features.Span, data.Labels.Span, data.RowCount, data.Index);
        }

        var metrics = new EpochMetrics(input.Epoch, checkpoint.State.RowsSeen, evaluator.Compute());
        evaluator.EnsureTrainedClassesPresent(checkpoint.State.ClassCounts, Describe(input.Holdout));

        // A retried evaluation finds its own point already on the curve and writes the same checkpoint again.
        var curve = checkpoint.LearningCurve.Where(m => m.Epoch < input.Epoch).Append(metrics).ToList();
        await storage.WriteAsync(input.Checkpoint, (checkpoint with { LearningCurve = curve }).ToJson(), cancellationToken);
        return metrics;
    }

    /// <summary>The holdout as a failure message names it: its chunks when they are few, else their count.</summary>
    private static string Describe(DatasetDescription holdout)
    {
        const int MostChunksListed = 20;
        var chunks = holdout.Chunks.Count <= MostChunksListed
            ? "chunk" + (holdout.Chunks.Count == 1 ? " " : "s ") + string.Join(", ", holdout.Chunks.Select(c => c.Index.ToString(CultureInfo.InvariantCulture)))
            : holdout.Chunks.Count.ToString(CultureInfo.InvariantCulture) + " chunks";
        return $"{chunks} of '{holdout.Root}'";
    }
}
