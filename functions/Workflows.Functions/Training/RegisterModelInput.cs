using Workflows.ML.Data;
using Workflows.ML.Training;

namespace Workflows.Functions.Training;

/// <summary>Input of <see cref="RegisterModelActivity"/>.</summary>
/// <param name="ModelName">Name to register under.</param>
/// <param name="Dataset">The training dataset (lineage).</param>
/// <param name="Checkpoint">Checkpoint of the epoch to keep.</param>
/// <param name="Features">Feature columns, in model order.</param>
/// <param name="StatsArtifact">Stats artifact the features were standardized with (lineage; folded into the ONNX graph).</param>
/// <param name="Options">Hyper-parameters, with the feature and class counts.</param>
/// <param name="Best">Holdout metrics of the kept epoch.</param>
/// <param name="Parameters">Training parameters for the lineage.</param>
/// <param name="RunFolder">Folder to write the ONNX file into.</param>
/// <param name="IdempotencyKey">
/// Stable across re-runs of the registering call (activities are at-least-once): the registry gives a re-run the
/// version the first run registered.
/// </param>
/// <param name="Holdout">The holdout chunks the reference profile is computed on (null: no profile is stored).</param>
/// <param name="HoldoutFeatures">The feature columns as the holdout stores them.</param>
public sealed record RegisterModelInput(
    string ModelName,
    string Dataset,
    string Checkpoint,
    IReadOnlyList<DatasetColumn> Features,
    string StatsArtifact,
    TrainingOptions Options,
    EpochMetrics Best,
    IReadOnlyDictionary<string, string> Parameters,
    string RunFolder,
    string IdempotencyKey,
    DatasetDescription? Holdout = null,
    IReadOnlyList<DatasetColumn>? HoldoutFeatures = null);
