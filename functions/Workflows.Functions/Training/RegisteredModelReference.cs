namespace Workflows.Functions.Training;

/// <summary>Output of <see cref="RegisterModelActivity"/>.</summary>
/// <param name="Version">The version the registry gave the model.</param>
/// <param name="ArtifactPath">The ONNX file in the run folder.</param>
public sealed record RegisteredModelReference(int Version, string ArtifactPath);
