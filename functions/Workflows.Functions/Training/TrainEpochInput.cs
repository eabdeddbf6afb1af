using Workflows.ML.Data;
using Workflows.ML.Training;

namespace Workflows.Functions.Training;

/// <summary>Input of <see cref="TrainEpochActivity"/>: one worker's share of one epoch.</summary>
/// <param name="Dataset">The training dataset, its chunk list cut down to this worker's chunks in the order to train them.</param>
/// <param name="Features">Feature columns, in model order.</param>
/// <param name="StatsArtifact">Stats artifact to standardize with.</param>
/// <param name="Options">Hyper-parameters, with the feature and class counts.</param>
/// <param name="Epoch">The epoch, from 0 (keys the row shuffles).</param>
/// <param name="StartCheckpoint">Checkpoint of the previous epoch; <see langword="null"/> starts from zero weights.</param>
/// <param name="RunFolder">Folder to write the result into.</param>
/// <param name="FileName">File name of the resulting checkpoint.</param>
public sealed record TrainEpochInput(
    DatasetDescription Dataset,
    IReadOnlyList<DatasetColumn> Features,
    string StatsArtifact,
    TrainingOptions Options,
    int Epoch,
    string? StartCheckpoint,
    string RunFolder,
    string FileName);
