namespace Workflows.Durable;

/// <summary>What an activity knows about its invocation.</summary>
public sealed class TaskActivityContext
{
    internal TaskActivityContext(string name, string instanceId, int taskId, string idempotencyKey, CancellationToken cancellationToken)
    {
        Name = name;
        InstanceId = instanceId;
        TaskId = taskId;
        IdempotencyKey = idempotencyKey;
        CancellationToken = cancellationToken;
    }

    /// <summary>Activity name.</summary>
    public string Name { get; }

    /// <summary>Instance id of the orchestration that called it.</summary>
    public string InstanceId { get; }

    /// <summary>Task id of this call within the orchestration.</summary>
    public int TaskId { get; }

    /// <summary>Stable across re-runs of this same call (activities are at-least-once).</summary>
    public string IdempotencyKey { get; }

    /// <summary>Signalled when the worker shuts down and stops waiting for the activity.</summary>
    public CancellationToken CancellationToken { get; }
}
