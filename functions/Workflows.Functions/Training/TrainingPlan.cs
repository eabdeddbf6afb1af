using Workflows.ML.Data;

namespace Workflows.Functions.Training;

/// <summary>What <see cref="PrepareTrainingActivity"/> found: the training and holdout chunks, the checked features and the classes.</summary>
/// <param name="Train">The training dataset, its chunk list cut down to the training chunks.</param>
/// <param name="Holdout">The holdout chunks (of the holdout dataset, or the held-out chunks of the training dataset).</param>
/// <param name="Features">Feature columns of the training dataset, in model order.</param>
/// <param name="HoldoutFeatures">The same columns as the holdout stores them (same names, the holdout's types).</param>
/// <param name="ClassCount">Number of classes (the largest label in the stats artifact plus one).</param>
/// <param name="StatsArtifact">The stats artifact the activities standardize with.</param>
/// <param name="RunFolder">Folder of this run's checkpoints and ONNX file.</param>
/// <param name="HoldoutChunks">The held-out chunks' indices in the training dataset (ascending), chosen by
/// <see cref="ML.Training.HoldoutSplit"/>; <see langword="null"/> when a holdout dataset was given.</param>
public sealed record TrainingPlan(
    DatasetDescription Train,
    DatasetDescription Holdout,
    IReadOnlyList<DatasetColumn> Features,
    IReadOnlyList<DatasetColumn> HoldoutFeatures,
    int ClassCount,
    string StatsArtifact,
    string RunFolder,
    IReadOnlyList<int>? HoldoutChunks = null);
