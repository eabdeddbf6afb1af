namespace Workflows.ML.Training;

/// <summary>Checks a chunk's shape and labels before any weight changes, with messages that name the culprit.</summary>
internal static class ChunkValidation
{
    public static void Validate(int featureCount, int classCount, int chunkIndex, ReadOnlySpan<float> features, ReadOnlySpan<int> labels, int rowCount)
    {
        if (rowCount < 0)
        {
            throw new TrainingDataException($"Chunk {chunkIndex}: the row count is negative ({rowCount}).");
        }

        if (features.Length != (long)rowCount * featureCount)
        {
            var hint = rowCount > 0 && features.Length % rowCount == 0
                ? $" (that is {features.Length / rowCount} features per row)"
                : string.Empty;
            throw new TrainingDataException(
                $"Chunk {chunkIndex}: feature count mismatch: {features.Length} values for {rowCount} rows{hint}; "
                + $"the model has {featureCount} features, so {(long)rowCount * featureCount} values were expected.");
        }

        if (labels.Length != rowCount)
        {
            throw new TrainingDataException($"Chunk {chunkIndex}: {labels.Length} labels for {rowCount} rows.");
        }

        for (var row = 0; row < rowCount; row++)
        {
            var label = labels[row];
            if ((uint)label >= (uint)classCount)
            {
                throw new TrainingDataException(
                    $"Chunk {chunkIndex}, row {row}: label {label} is out of range; labels must be class indices 0..{classCount - 1}.");
            }
        }
    }
}
