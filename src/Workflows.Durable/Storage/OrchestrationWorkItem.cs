namespace Workflows.Durable.Storage;

/// <summary>
/// A locked batch of messages for one orchestration instance. While the lock is held, no other worker gets a
/// work item for this instance. Complete it with <see cref="IStorageProvider.CompleteOrchestrationWorkItemAsync"/>
/// or give it back with <see cref="IStorageProvider.AbandonOrchestrationWorkItemAsync"/>.
/// </summary>
public sealed class OrchestrationWorkItem
{
    /// <summary>The instance the messages are for.</summary>
    public required string InstanceId { get; init; }

    /// <summary>New messages, in arrival order.</summary>
    public required IReadOnlyList<OrchestrationMessage> Messages { get; init; }

    /// <summary>
    /// Identifies the committed history this work item builds on. A worker that cached the orchestration at this
    /// exact version may skip loading history; any other value means the cache is stale. Empty for a new instance.
    /// </summary>
    public required string HistoryETag { get; init; }

    /// <summary>How many times these messages were handed out before (poison detection).</summary>
    public int DequeueCount { get; init; }

    /// <summary>Provider-private lock state.</summary>
    public required object LockState { get; init; }
}
