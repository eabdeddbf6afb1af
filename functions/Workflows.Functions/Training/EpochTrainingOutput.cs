using Workflows.ML.Training;

namespace Workflows.Functions.Training;

/// <summary>Output of <see cref="EpochTrainingOrchestrator"/>.</summary>
/// <param name="ModelName">Registered model name.</param>
/// <param name="Version">Registered version.</param>
/// <param name="ArtifactPath">The ONNX file written next to the run's checkpoints (the registry holds its own copy).</param>
/// <param name="Checkpoint">Checkpoint of the epoch that was kept (the lowest holdout log loss).</param>
/// <param name="BestEpoch">That epoch, from 1.</param>
/// <param name="StoppedEarly">Whether early stopping ended the run before the last epoch.</param>
/// <param name="StatsArtifact">The stats artifact that standardized the features.</param>
/// <param name="LearningCurve">Holdout metrics after every epoch trained.</param>
/// <param name="HoldoutChunks">Indices of the dataset's chunks held out (ascending) when the holdout is a fraction of
/// the dataset; <see langword="null"/> when a holdout dataset was given. The training chunks are the others.</param>
public sealed record EpochTrainingOutput(
    string ModelName,
    int Version,
    string ArtifactPath,
    string Checkpoint,
    int BestEpoch,
    bool StoppedEarly,
    string StatsArtifact,
    IReadOnlyList<EpochMetrics> LearningCurve,
    IReadOnlyList<int>? HoldoutChunks = null);
