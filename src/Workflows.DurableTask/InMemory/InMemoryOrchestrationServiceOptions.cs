namespace Workflows.DurableTask.InMemory;

/// <summary>Settings of an <see cref="InMemoryOrchestrationService"/>.</summary>
public sealed class InMemoryOrchestrationServiceOptions
{
    /// <summary>
    /// The clock of durable time: timers fire, scheduled starts begin and activity locks expire by it. Tests pass a
    /// fake clock. Receive and session idle timeouts are operational waits and use the system clock.
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The task hub name this backend reports in queries.</summary>
    public string TaskHubName { get; set; } = "InMemory";

    /// <summary>How many orchestration work items (episodes) a worker runs at once.</summary>
    public int MaxConcurrentOrchestrationWorkItems { get; set; } = 100;

    /// <summary>How many activity work items a worker runs at once.</summary>
    public int MaxConcurrentActivityWorkItems { get; set; } = 100;

    /// <summary>
    /// How long an activity work item stays locked to its worker unless renewed; an expired lock hands the work item
    /// out again (activities are at-least-once). <see langword="null"/> locks without expiry (and spares the worker
    /// its renewal loop).
    /// </summary>
    public TimeSpan? ActivityLockTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Extended sessions: how long a worker keeps an instance that has finished an episode, waiting for its next
    /// messages without replaying its history. <see langword="null"/> turns extended sessions off.
    /// </summary>
    public TimeSpan? ExtendedSessionIdleTimeout { get; set; }

    /// <summary>How long an abandoned work item's messages wait before they are handed out again.</summary>
    public TimeSpan AbandonRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentException.ThrowIfNullOrWhiteSpace(TaskHubName);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentOrchestrationWorkItems, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentActivityWorkItems, 1);
        if (ActivityLockTimeout is { } lockTimeout)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lockTimeout, TimeSpan.Zero);
        }

        if (ExtendedSessionIdleTimeout is { } idle)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idle, TimeSpan.Zero);
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(AbandonRetryDelay, TimeSpan.Zero);
    }
}
