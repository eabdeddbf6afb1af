using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;
using Workflows.ML.Training;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Statistics;

/// <summary>
/// First pass over a group of chunks: moments, quantile sketches, label counts and, for the columns whose footer
/// range it is given (<see cref="ChunkGroupInput.HistogramRanges"/>), histograms. When a second pass follows
/// (<see cref="ChunkGroupInput.KeepForSecondPass"/>) the decoded feature columns stay in the worker's
/// <see cref="DecodedChunkCache"/>, as chunks of this instance's scan, for <see cref="ComputeChunkHistogramsActivity"/>.
/// </summary>
public sealed class ComputeChunkMomentsActivity(DatasetReader reader, IStatisticsKernel kernel, DecodedChunkCache chunkCache)
{
    /// <summary>Registered name.</summary>
    public const string Name = "ComputeChunkMoments";

    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token; <paramref name="instanceId"/> is the calling instance's id (the trigger's metadata).</summary>
    [Function(Name)]
    public Task<FirstPassPartial> RunAsync([ActivityTrigger] ChunkGroupInput input, string instanceId, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var keep = input.KeepForSecondPass ? new ChunkCacheScope(chunkCache, instanceId) : null;
        var request = new FirstPassRequest
        {
            Group = new ChunkGroup(reader, input.Dataset, input.Dataset.Chunks, input.Columns),
            Kernel = kernel,
            SketchCapacity = input.SketchCapacity,
            HistogramRanges = input.HistogramRanges,
            Bins = input.Bins,
            Subdivisions = input.Subdivisions,
            KeepForSecondPass = keep,
        };
        return ChunkStatistics.ComputeMomentsAsync(request, context.CancellationToken);
    }
}
