namespace Workflows.Serving.Batching;

/// <summary>The outputs of one request's rows: <see cref="Values"/> row-major, <see cref="Labels"/> when the model labels.</summary>
/// <param name="Rows">Rows scored.</param>
/// <param name="Width">Values per row.</param>
/// <param name="Values">Rows × width float outputs.</param>
/// <param name="Labels">One label per row, or null.</param>
internal sealed record ScoreResult(int Rows, int Width, float[] Values, long[]? Labels)
{
    /// <summary>Estimated bytes the result holds (for the cache's memory bound).</summary>
    public long ByteSize => Values.Length * sizeof(float) + (Labels?.Length ?? 0) * sizeof(long) + 64;
}
