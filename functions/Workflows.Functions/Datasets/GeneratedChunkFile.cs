namespace Workflows.Functions.Datasets;

/// <summary>Output of <see cref="GenerateDatasetChunkActivity"/>.</summary>
/// <param name="Path">The Parquet file written.</param>
/// <param name="Rows">Rows in it.</param>
/// <param name="Bytes">Its size.</param>
public sealed record GeneratedChunkFile(string Path, int Rows, long Bytes);
