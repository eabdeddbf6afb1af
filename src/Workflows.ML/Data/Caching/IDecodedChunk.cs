namespace Workflows.ML.Data.Caching;

/// <summary>A decoded chunk that a <see cref="DecodedChunkCache"/> can hold: it states what its arrays cost.</summary>
public interface IDecodedChunk
{
    /// <summary>Bytes of the arrays the chunk holds (the cache adds its own per-entry bookkeeping).</summary>
    long ArrayBytes { get; }
}
