using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;
using Workflows.ML.Training;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Statistics;

/// <summary>
/// Second pass over a group of chunks: histogram counts (fine ones when quantiles are read from them) over the global
/// ranges of the first pass, of the columns whose histograms the first pass could not count. Chunks the first pass left in this worker's <see cref="DecodedChunkCache"/> are taken
/// from it; the others (another worker's, or beyond the budget) are decoded again.
/// </summary>
public sealed class ComputeChunkHistogramsActivity(DatasetReader reader, IStatisticsKernel kernel, DecodedChunkCache chunkCache)
{
    /// <summary>Registered name.</summary>
    public const string Name = "ComputeChunkHistograms";

    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token; <paramref name="instanceId"/> is the calling instance's id (the trigger's metadata).</summary>
    [Function(Name)]
    public Task<HistogramPartial> RunAsync([ActivityTrigger] ChunkGroupInput input, string instanceId, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var ranges = input.Ranges ?? throw new ArgumentException("the histogram pass needs the first pass's ranges.", nameof(input));

        // No cache, no lookups: each would cost a version read per chunk (a request on Blob storage).
        var cache = chunkCache.BudgetBytes > 0 ? new ChunkCacheScope(chunkCache, instanceId) : null;
        var request = new SecondPassRequest
        {
            Group = new ChunkGroup(reader, input.Dataset, input.Dataset.Chunks, input.Columns),
            Kernel = kernel,
            FirstPassMoments = ranges,
            Bins = input.Bins,
            Subdivisions = input.Subdivisions,
            Cache = cache,
            KeptColumns = input.KeptColumns,
        };
        return ChunkStatistics.ComputeHistogramsAsync(request, context.CancellationToken);
    }
}
