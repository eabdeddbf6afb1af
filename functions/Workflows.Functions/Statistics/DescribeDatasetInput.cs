namespace Workflows.Functions.Statistics;

/// <summary>Input of <see cref="DescribeDatasetActivity"/>.</summary>
/// <param name="Dataset">Dataset path.</param>
/// <param name="LabelColumn">Label column or <see langword="null"/>.</param>
/// <param name="Columns">Requested columns or <see langword="null"/> for all.</param>
/// <param name="CsvChunkRows">Rows per CSV chunk.</param>
/// <param name="Chunks">Chunk positions whose footer ranges are merged into <see cref="DescribedDataset.FooterRanges"/>; <see langword="null"/> for all.</param>
public sealed record DescribeDatasetInput(string Dataset, string? LabelColumn, IReadOnlyList<string>? Columns, int CsvChunkRows, IReadOnlyList<int>? Chunks = null);
