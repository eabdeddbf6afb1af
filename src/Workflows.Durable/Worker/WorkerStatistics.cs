namespace Workflows.Durable.Worker;

/// <summary>Counters of a worker, for tests, benchmarks and metrics.</summary>
public sealed class WorkerStatistics
{
    private long _episodes;
    private long _cacheHits;
    private long _cacheMisses;
    private long _eventsReplayed;
    private long _eventsApplied;
    private long _activitiesExecuted;

    /// <summary>Orchestration work items committed.</summary>
    public long Episodes => Interlocked.Read(ref _episodes);

    /// <summary>Work items served from the orchestration cache without loading history.</summary>
    public long CacheHits => Interlocked.Read(ref _cacheHits);

    /// <summary>Work items that loaded and replayed history.</summary>
    public long CacheMisses => Interlocked.Read(ref _cacheMisses);

    /// <summary>History events replayed after loading history (the replay cost).</summary>
    public long EventsReplayed => Interlocked.Read(ref _eventsReplayed);

    /// <summary>New history events applied by episodes.</summary>
    public long EventsApplied => Interlocked.Read(ref _eventsApplied);

    /// <summary>Activity invocations finished (completed or failed).</summary>
    public long ActivitiesExecuted => Interlocked.Read(ref _activitiesExecuted);

    internal void OnEpisode(bool cacheHit, long replayed, long applied)
    {
        Interlocked.Increment(ref _episodes);
        Interlocked.Increment(ref cacheHit ? ref _cacheHits : ref _cacheMisses);
        Interlocked.Add(ref _eventsReplayed, replayed);
        Interlocked.Add(ref _eventsApplied, applied);
    }

    internal void OnActivity() => Interlocked.Increment(ref _activitiesExecuted);
}
