namespace Workflows.Bench;

/// <summary>Options of the <c>stats</c> scenario; the defaults are the full size.</summary>
/// <param name="Rows">Rows of the generated dataset.</param>
/// <param name="Features">Float32 feature columns.</param>
/// <param name="Chunks">Chunks (Parquet files, one row group each).</param>
/// <param name="Repeat">Timed passes per measurement; the median is reported.</param>
/// <param name="KernelRows">Rows (all features) each kernel reduces in the per-kernel measurement.</param>
/// <param name="ChunksPerActivity">Chunks per activity in the end-to-end orchestration and the statistics rounds.</param>
/// <param name="CacheMegabytes">
/// The worker's decoded-chunk cache (the <c>WorkflowsChunkCacheMegabytes</c> budget) for the one-decode statistics and
/// the orchestrations; -1 sizes it to hold the decoded features (rows × features × 4 bytes + 64 MiB).
/// </param>
internal sealed record StatsOptions(int Rows, int Features, int Chunks, int Repeat, int KernelRows, int ChunksPerActivity, int CacheMegabytes)
{
    public static StatsOptions From(BenchArgs args)
    {
        args.AllowOnly("rows", "features", "chunks", "repeat", "kernel-rows", "chunks-per-activity", "cache-mb");
        var options = new StatsOptions(
            args.GetInt("rows", 1_000_000, min: 1),
            args.GetInt("features", 100, min: 1),
            args.GetInt("chunks", 100, min: 1),
            args.GetInt("repeat", 3, min: 1),
            args.GetInt("kernel-rows", 50_000, min: 1),
            args.GetInt("chunks-per-activity", 10, min: 1),
            args.GetInt("cache-mb", -1, min: -1));
        if (options.Chunks > options.Rows)
        {
            throw new UsageException($"--chunks {options.Chunks} is more than --rows {options.Rows}.");
        }

        if (options.Features < 2)
        {
            throw new UsageException("--features must be at least 2 (two informative features).");
        }

        return options;
    }

    public int ChunkRows => (Rows + Chunks - 1) / Chunks;

    /// <summary>The cache budget in bytes (see <see cref="CacheMegabytes"/>).</summary>
    public long CacheBytes => CacheMegabytes >= 0 ? (long)CacheMegabytes << 20 : ((long)Rows * Features * sizeof(float)) + (64L << 20);
}
