namespace Workflows.ML.Data;

/// <summary>Codec for written Parquet files. Zstd runs at its fastest level: the library's default level is far too slow.</summary>
public enum ParquetCompression
{
    /// <summary>Snappy: fastest to write and read.</summary>
    Snappy,

    /// <summary>Zstandard at the fastest level: smaller files, a little slower.</summary>
    ZstdFastest,
}
