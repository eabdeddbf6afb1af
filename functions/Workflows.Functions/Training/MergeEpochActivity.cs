using Workflows.ML.Data;
using Workflows.ML.Training;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Training;

/// <summary>
/// Ends a data-parallel epoch: averages the K workers' weights by rows seen (<see cref="ModelAveraging.Merge"/>)
/// and writes the epoch's checkpoint; returns its path.
/// </summary>
public sealed class MergeEpochActivity(IDatasetStorage storage)
{
    /// <summary>Registered name.</summary>
    public const string Name = "MergeEpoch";

    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token.</summary>
    [Function(Name)]
    public async Task<string> RunAsync([ActivityTrigger] MergeEpochInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var cancellationToken = context.CancellationToken;
        var start = input.StartCheckpoint is null ? null : await TrainingStorage.ReadCheckpointAsync(storage, input.StartCheckpoint, cancellationToken);
        var workers = new List<TrainerState>(input.WorkerCheckpoints.Count);
        foreach (var path in input.WorkerCheckpoints)
        {
            var worker = await TrainingStorage.ReadCheckpointAsync(storage, path, cancellationToken);
            worker.EnsureResumableWith(input.Options);
            workers.Add(worker.State);
        }

        var merged = ModelAveraging.Merge(start?.State ?? TrainerState.CreateInitial(input.Options), workers);
        var checkpoint = new TrainingCheckpoint(input.Epoch + 1, merged, start?.LearningCurve ?? [], input.Options);
        return await TrainingStorage.WriteCheckpointAsync(storage, input.RunFolder, input.FileName, checkpoint, cancellationToken);
    }
}
