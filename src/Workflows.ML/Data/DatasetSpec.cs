namespace Workflows.ML.Data;

/// <summary>What a caller names to open a dataset.</summary>
/// <param name="Path">A Parquet or CSV file, or a folder of them (format from the extension: .parquet or .csv).</param>
/// <param name="LabelColumn">Name of the label column, if any; it is excluded from the feature columns.</param>
/// <param name="CsvChunkRows">CSV only: rows per chunk.</param>
public sealed record DatasetSpec(string Path, string? LabelColumn = null, int CsvChunkRows = DatasetSpec.DefaultCsvChunkRows)
{
    /// <summary>Default CSV chunk size.</summary>
    public const int DefaultCsvChunkRows = 10_000;
}
