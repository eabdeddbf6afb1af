using DurableTask.Core;

namespace Workflows.DurableTask.InMemory;

/// <summary>
/// Something the in-memory backend does at a time of the durable clock: deliver a message (a durable timer, a
/// scheduled start), hand out an abandoned activity again, or make an instance ready after its abandon delay.
/// </summary>
internal sealed class DelayedEntry
{
    private DelayedEntry(InstanceRecord? instance, TaskMessage? message, TaskActivityWorkItem? activity)
    {
        Instance = instance;
        Message = message;
        Activity = activity;
    }

    public InstanceRecord? Instance { get; }

    public TaskMessage? Message { get; }

    public TaskActivityWorkItem? Activity { get; }

    public static DelayedEntry Deliver(TaskMessage message) => new(null, message, null);

    public static DelayedEntry Wake(InstanceRecord instance) => new(instance, null, null);

    public static DelayedEntry Redeliver(TaskActivityWorkItem activity) => new(null, null, activity);
}
