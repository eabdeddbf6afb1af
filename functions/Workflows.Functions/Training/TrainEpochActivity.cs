using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Training;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Training;

/// <summary>
/// Streams a worker's chunks through mini-batch SGD from the start checkpoint and writes the resulting checkpoint;
/// returns its path. Chunks come from the worker's <see cref="DecodedChunkCache"/> when an earlier epoch decoded them. Everything it computes follows from its input and the files it names, so a crashed attempt run
/// again (activities are at least once) writes the same checkpoint bit for bit.
/// </summary>
public sealed class TrainEpochActivity(IDatasetStorage storage, DatasetReader reader, DecodedChunkCache chunkCache)
{
    /// <summary>Registered name.</summary>
    public const string Name = "TrainEpoch";

    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token.</summary>
    [Function(Name)]
    public async Task<string> RunAsync([ActivityTrigger] TrainEpochInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var cancellationToken = context.CancellationToken;
        var standardization = await TrainingStorage.LoadStandardizationAsync(storage, input.StatsArtifact, input.Features, cancellationToken);
        IReadOnlyList<EpochMetrics> curve = [];
        TrainerState state;
        if (input.StartCheckpoint is null)
        {
            state = TrainerState.CreateInitial(input.Options);
        }
        else
        {
            var start = await TrainingStorage.ReadCheckpointAsync(storage, input.StartCheckpoint, cancellationToken);
            start.EnsureResumableWith(input.Options);
            state = start.State;
            curve = start.LearningCurve;
        }

        var trainer = new LogisticRegressionTrainer(input.Options, standardization);
        var chunks = TrainingStorage.ReadChunksAsync(
            chunkCache, input.RunFolder, reader, input.Dataset, input.Dataset.Chunks, input.Features, TrainingStorage.DefaultReadAhead, cancellationToken);
        await foreach (var data in chunks)
        {
            trainer.TrainChunk(state, input.Epoch, data.Index, data.Features.Span, data.Labels.Span, data.RowCount);
        }

        var checkpoint = new TrainingCheckpoint(input.Epoch + 1, state, curve, input.Options);
        return await TrainingStorage.WriteCheckpointAsync(storage, input.RunFolder, input.FileName, checkpoint, cancellationToken);
    }
}
