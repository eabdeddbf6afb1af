namespace Workflows.Functions.Datasets;

/// <summary>Output of <see cref="GenerateDatasetOrchestrator"/>.</summary>
/// <param name="Path">The dataset folder (open it with ChunkedStatistics, label column <c>label</c>).</param>
/// <param name="Rows">Rows written.</param>
/// <param name="Chunks">Parquet files written, one row group each.</param>
/// <param name="Features">Feature columns.</param>
/// <param name="Bytes">Total size of the files.</param>
public sealed record GenerateDatasetOutput(string Path, long Rows, int Chunks, int Features, long Bytes);
