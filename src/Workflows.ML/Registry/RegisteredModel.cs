namespace Workflows.ML.Registry;

/// <summary>One registered version of a model: its manifest.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Version">Version number, from 1, increasing by one per registration of the name.</param>
/// <param name="Format">Artifact format, e.g. "onnx".</param>
/// <param name="Metrics">Holdout metrics.</param>
/// <param name="Lineage">Dataset, stats artifact, parameters and commit.</param>
/// <param name="RegisteredAt">When the version was registered.</param>
/// <param name="ArtifactSha256">Lower-case hex SHA-256 of the artifact, checked when it is read back.</param>
/// <param name="ArtifactLength">Artifact size in bytes.</param>
/// <param name="IdempotencyKey">The registering operation's key, if it gave one.</param>
/// <param name="Files">The files stored with the version beside the artifact: file name → lower-case hex SHA-256 (null: none).</param>
public sealed record RegisteredModel(
    string Name,
    int Version,
    string Format,
    IReadOnlyDictionary<string, double> Metrics,
    ModelLineage Lineage,
    DateTimeOffset RegisteredAt,
    string ArtifactSha256,
    long ArtifactLength,
    string? IdempotencyKey,
    IReadOnlyDictionary<string, string>? Files = null);
