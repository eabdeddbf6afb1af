namespace Workflows.Functions.Datasets;

/// <summary>Input of <see cref="GenerateDatasetChunkActivity"/>.</summary>
/// <param name="Dataset">The whole dataset's parameters (the model comes from them).</param>
/// <param name="ChunkIndex">Which chunk.</param>
/// <param name="Rows">Rows in this chunk.</param>
public sealed record GenerateChunkInput(GenerateDatasetInput Dataset, int ChunkIndex, int Rows);
