using Workflows.ML.Data;
using Workflows.ML.Training;

namespace Workflows.Functions.Training;

/// <summary>Input of <see cref="EvaluateHoldoutActivity"/>.</summary>
/// <param name="Holdout">The holdout chunks.</param>
/// <param name="Features">Feature columns, in model order.</param>
/// <param name="StatsArtifact">Stats artifact to standardize with.</param>
/// <param name="Options">Hyper-parameters, with the feature and class counts.</param>
/// <param name="Checkpoint">The epoch's checkpoint; rewritten with the metrics added to its learning curve.</param>
/// <param name="Epoch">The epoch just trained, from 1.</param>
/// <param name="RunFolder">The run's folder (scopes the decoded-chunk cache to the run).</param>
public sealed record EvaluateHoldoutInput(
    DatasetDescription Holdout,
    IReadOnlyList<DatasetColumn> Features,
    string StatsArtifact,
    TrainingOptions Options,
    string Checkpoint,
    int Epoch,
    string RunFolder);
