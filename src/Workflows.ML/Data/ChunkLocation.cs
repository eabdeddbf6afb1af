namespace Workflows.ML.Data;

/// <summary>
/// Where one chunk of a dataset lies: enough for any worker to read it without listing the dataset again.
/// </summary>
/// <param name="Index">Position of the chunk in the dataset, 0-based.</param>
/// <param name="File">The file, as a path of the dataset's storage (file-system path or blob name).</param>
/// <param name="RowGroup">Parquet row-group index in <paramref name="File"/>; 0 for CSV.</param>
/// <param name="ByteOffset">CSV: offset of the chunk's first data line; 0 for Parquet.</param>
/// <param name="Rows">Number of rows in the chunk.</param>
public sealed record ChunkLocation(int Index, string File, int RowGroup, long ByteOffset, long Rows);
