namespace Workflows.Durable.AzureStorage.Core;

/// <summary>Settings of <see cref="TaskHubOrchestrationService"/> beyond the task hub's own (<see cref="AzureStorageOptions"/>).</summary>
public sealed class TaskHubOrchestrationServiceOptions
{
    /// <summary>How many orchestration episodes a worker runs at once.</summary>
    public int MaxConcurrentOrchestrationWorkItems { get; set; } = 100;

    /// <summary>How many activities a worker runs at once.</summary>
    public int MaxConcurrentActivityWorkItems { get; set; } = 16;

    /// <summary>
    /// Whether an orchestration work item is an extended session: after its commit the instance stays locked and its
    /// next messages go to the same work item, whose runtime state DTFx keeps, so no episode but the first replays the
    /// history. On by default.
    /// </summary>
    public bool ExtendedSessions { get; set; } = true;

    /// <summary>How long an extended session waits for its instance's next messages after a commit before it ends and unlocks the instance.</summary>
    public TimeSpan ExtendedSessionIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (MaxConcurrentOrchestrationWorkItems < 1)
        {
            throw new ArgumentException($"MaxConcurrentOrchestrationWorkItems must be at least 1; got {MaxConcurrentOrchestrationWorkItems}.", nameof(MaxConcurrentOrchestrationWorkItems));
        }

        if (MaxConcurrentActivityWorkItems < 1)
        {
            throw new ArgumentException($"MaxConcurrentActivityWorkItems must be at least 1; got {MaxConcurrentActivityWorkItems}.", nameof(MaxConcurrentActivityWorkItems));
        }

        if (ExtendedSessionIdleTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"ExtendedSessionIdleTimeout must be positive; got {ExtendedSessionIdleTimeout}.", nameof(ExtendedSessionIdleTimeout));
        }
    }
}
