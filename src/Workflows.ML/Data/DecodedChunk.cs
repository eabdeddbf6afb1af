namespace Workflows.ML.Data;

/// <summary>The requested columns (and the label, if the dataset has one) of one chunk, column by column.</summary>
/// <param name="Index">Chunk index in the dataset.</param>
/// <param name="RowCount">Number of rows.</param>
/// <param name="Columns">The requested feature columns, in the order asked for.</param>
/// <param name="Label">The label column (widened to double, NaN where missing), or <see langword="null"/>.</param>
public sealed record DecodedChunk(int Index, int RowCount, IReadOnlyList<ChunkColumn> Columns, ChunkColumn? Label);
