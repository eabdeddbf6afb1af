namespace Workflows.Durable.AzureStorage.Core;

/// <summary>Settings of <see cref="TaskHubOrchestrationService"/> beyond the task hub's own (<see cref="AzureStorageOptions"/>).</summary>
public sealed class TaskHubOrchestrationServiceOptions
{
    /// <summary>How many orchestration episodes a worker runs at once.</summary>
    public int MaxConcurrentOrchestrationWorkItems { get; set; } = 100;

    /// <summary>How many activities a worker runs at once.</summary>
    public int MaxConcurrentActivityWorkItems { get; set; } = 16;

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
    }
}
