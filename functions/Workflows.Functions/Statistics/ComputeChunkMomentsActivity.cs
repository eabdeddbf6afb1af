using Workflows.Durable;
using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;

namespace Workflows.Functions.Statistics;

/// <summary>First pass over a group of chunks: moments, quantile sketches and label counts.</summary>
[DurableTask(Name)]
public sealed class ComputeChunkMomentsActivity(IDatasetStorage storage, IStatisticsKernel kernel) : TaskActivity<ChunkGroupInput, MomentsPartial>
{
    /// <summary>Registered name.</summary>
    public const string Name = "ComputeChunkMoments";

    public override Task<MomentsPartial> RunAsync(TaskActivityContext context, ChunkGroupInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        return ChunkStatistics.ComputeMomentsAsync(
            new DatasetReader(storage), input.Dataset, input.Dataset.Chunks, input.Columns, input.SketchCapacity, kernel, context.CancellationToken);
    }
}
