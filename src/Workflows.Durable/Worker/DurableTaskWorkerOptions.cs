using Workflows.Durable.Serialization;

namespace Workflows.Durable.Worker;

/// <summary>Worker settings; names follow host.json's <c>extensions.durableTask</c> section.</summary>
public sealed class DurableTaskWorkerOptions
{
    /// <summary>How many orchestration work items run at once (default 10 × processor count, as Durable Functions).</summary>
    public int MaxConcurrentOrchestratorFunctions { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>How many activities run at once (default 10 × processor count).</summary>
    public int MaxConcurrentActivityFunctions { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>
    /// Keep running orchestrations in memory between episodes (Durable Functions' extended sessions), so new
    /// events are applied without replaying the whole history.
    /// </summary>
    public bool ExtendedSessionsEnabled { get; set; } = true;

    /// <summary>Upper bound of cached orchestrations; the least recently used is evicted and later replayed from history.</summary>
    public int MaxCachedOrchestrations { get; set; } = 1024;

    /// <summary>How often a running activity's lock is renewed.</summary>
    public TimeSpan ActivityLockRenewalInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Serializer of inputs, outputs, custom status and event payloads.</summary>
    public DataConverter DataConverter { get; set; } = JsonDataConverter.Default;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (MaxConcurrentOrchestratorFunctions < 1)
        {
            throw new ArgumentException($"maxConcurrentOrchestratorFunctions must be at least 1; got {MaxConcurrentOrchestratorFunctions}.");
        }

        if (MaxConcurrentActivityFunctions < 1)
        {
            throw new ArgumentException($"maxConcurrentActivityFunctions must be at least 1; got {MaxConcurrentActivityFunctions}.");
        }

        if (MaxCachedOrchestrations < 0)
        {
            throw new ArgumentException($"maxCachedOrchestrations must not be negative; got {MaxCachedOrchestrations}.");
        }

        if (ActivityLockRenewalInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("ActivityLockRenewalInterval must be positive.");
        }

        if (DataConverter is null)
        {
            throw new ArgumentException("DataConverter must be set.");
        }
    }
}
