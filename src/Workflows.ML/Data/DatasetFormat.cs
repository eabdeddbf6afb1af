namespace Workflows.ML.Data;

/// <summary>How a dataset is stored.</summary>
public enum DatasetFormat
{
    /// <summary>One Parquet file or a folder of Parquet files; every row group is a chunk.</summary>
    Parquet,

    /// <summary>One CSV file or a folder of CSV files with a header row, cut into chunks of a fixed row count.</summary>
    Csv,
}
