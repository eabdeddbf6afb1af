namespace Workflows.ML.Generation;

/// <summary>Rows of one generated chunk, column by column.</summary>
/// <param name="Features">One array per feature column, each with one value per row.</param>
/// <param name="Labels">Class of each row.</param>
public sealed record GeneratedChunk(IReadOnlyList<float[]> Features, int[] Labels)
{
    /// <summary>Number of rows.</summary>
    public int RowCount => Labels.Length;
}
