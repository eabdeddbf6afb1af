using Workflows.ML.Data.Caching;
using Workflows.ML.Training;

namespace Workflows.ML.Statistics;

/// <summary>
/// Where the first statistics pass keeps its decoded chunks for the second: a worker's <see cref="DecodedChunkCache"/>
/// and the scan they belong to (the ChunkedStatistics instance), which the cache's admission never evicts to make room
/// for another chunk of the same scan (see <see cref="DecodedChunkCache.TryAdmit"/>).
/// </summary>
/// <param name="Cache">The worker's cache.</param>
/// <param name="Scan">The scan: chunks of one scan never evict each other.</param>
public sealed record ChunkCacheScope(DecodedChunkCache Cache, string Scan);
