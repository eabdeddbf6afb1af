using Workflows.ML.Data.Caching;

namespace Workflows.ML.Training;

/// <summary>A decoded chunk held in memory: <paramref name="RowCount"/> rows of row-major features and their class labels.</summary>
/// <param name="Index">The chunk's index in the dataset (keys its row shuffle).</param>
/// <param name="Features">RowCount × FeatureCount values, row-major.</param>
/// <param name="Labels">RowCount class indices.</param>
/// <param name="RowCount">Rows in the chunk.</param>
public sealed record TrainingChunk(int Index, ReadOnlyMemory<float> Features, ReadOnlyMemory<int> Labels, int RowCount) : IDecodedChunk
{
    /// <inheritdoc />
    public long ArrayBytes => ((long)Features.Length * sizeof(float)) + ((long)Labels.Length * sizeof(int));
}
