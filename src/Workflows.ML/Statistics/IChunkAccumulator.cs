using Workflows.ML.Data;
using Workflows.ML.Kernels;

namespace Workflows.ML.Statistics;

/// <summary>A partial that takes a chunk column by column (either pass of the statistics).</summary>
internal interface IChunkAccumulator
{
    /// <summary>Number of columns the partial expects per chunk.</summary>
    int ColumnCount { get; }

    void AddColumn(int index, ChunkColumn column, IStatisticsKernel kernel);

    void CompleteChunk(DecodedChunk chunk);
}

/// <summary>Feeds a whole chunk to an <see cref="IChunkAccumulator"/>.</summary>
internal static class ChunkAccumulator
{
    public static void Add(IChunkAccumulator accumulator, DecodedChunk chunk, IStatisticsKernel kernel)
    {
        CheckColumns(accumulator, chunk);
        for (var i = 0; i < accumulator.ColumnCount; i++)
        {
            accumulator.AddColumn(i, chunk.Columns[i], kernel);
        }

        accumulator.CompleteChunk(chunk);
    }

    /// <summary>Throws when the chunk has another number of columns than the partial.</summary>
    public static void CheckColumns(IChunkAccumulator accumulator, DecodedChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (chunk.Columns.Count != accumulator.ColumnCount)
        {
            throw new ArgumentException($"chunk {chunk.Index} has {chunk.Columns.Count} columns, the statistics {accumulator.ColumnCount}.", nameof(chunk));
        }
    }
}
