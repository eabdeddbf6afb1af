using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Training;

namespace Workflows.ML.Statistics;

/// <summary>
/// A chunk's feature columns as the first statistics pass keeps them for the second in a <see cref="DecodedChunkCache"/>.
/// </summary>
/// <param name="Chunk">The chunk, without its label.</param>
/// <param name="Buffer">
/// The cache's buffer that holds the columns (see <see cref="DecodedChunkCache.RentBuffer"/>), returned to the cache
/// once the second pass has read them; <see langword="null"/> when they have arrays of their own.
/// </param>
public sealed record CachedChunk(DecodedChunk Chunk, float[]? Buffer);
