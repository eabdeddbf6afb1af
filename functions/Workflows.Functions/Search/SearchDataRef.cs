namespace Workflows.Functions.Search;

/// <summary>The rows a search evaluates on, as every search activity names them.</summary>
/// <param name="Dataset">A Parquet or CSV file, or a folder of them, inside the data root.</param>
/// <param name="LabelColumn">The label column; its values must be class indices 0, 1, 2, …</param>
/// <param name="Features">Feature columns; null or empty for every numeric column but the label.</param>
/// <param name="CsvChunkRows">Rows per chunk for CSV datasets.</param>
public sealed record SearchDataRef(string Dataset, string LabelColumn, IReadOnlyList<string>? Features = null, int CsvChunkRows = 10_000);
