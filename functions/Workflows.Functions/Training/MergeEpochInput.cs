using Workflows.ML.Training;

namespace Workflows.Functions.Training;

/// <summary>Input of <see cref="MergeEpochActivity"/>.</summary>
/// <param name="Options">Hyper-parameters, with the feature and class counts.</param>
/// <param name="Epoch">The epoch, from 0.</param>
/// <param name="StartCheckpoint">The state every worker started from; <see langword="null"/> for zero weights.</param>
/// <param name="WorkerCheckpoints">The workers' checkpoints, in worker order (the merge sums in that order).</param>
/// <param name="RunFolder">Folder to write the merged checkpoint into.</param>
/// <param name="FileName">File name of the merged checkpoint.</param>
public sealed record MergeEpochInput(
    TrainingOptions Options,
    int Epoch,
    string? StartCheckpoint,
    IReadOnlyList<string> WorkerCheckpoints,
    string RunFolder,
    string FileName);
