namespace Workflows.Durable.Storage;

/// <summary>The state of an orchestration instance as clients see it.</summary>
public sealed record OrchestrationMetadata
{
    /// <summary>Orchestrator name.</summary>
    public required string Name { get; init; }

    /// <summary>Instance id.</summary>
    public required string InstanceId { get; init; }

    /// <summary>Current execution id (changes on ContinueAsNew).</summary>
    public required string ExecutionId { get; init; }

    /// <summary>Runtime status.</summary>
    public required OrchestrationRuntimeStatus RuntimeStatus { get; init; }

    /// <summary>When the instance was created (scheduled).</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When its state last changed.</summary>
    public required DateTimeOffset LastUpdatedAt { get; init; }

    /// <summary>Scheduled start time, if the start was deferred.</summary>
    public DateTimeOffset? ScheduledStartTime { get; init; }

    /// <summary>Parent instance of a sub-orchestration.</summary>
    public string? ParentInstanceId { get; init; }

    /// <summary>Serialized input, when fetched.</summary>
    public string? SerializedInput { get; init; }

    /// <summary>Serialized output, when fetched.</summary>
    public string? SerializedOutput { get; init; }

    /// <summary>Serialized custom status, when fetched.</summary>
    public string? SerializedCustomStatus { get; init; }

    /// <summary>The orchestration version the current execution was started with; null when none was given.</summary>
    public string? Version { get; init; }

    /// <summary>The tags the current execution was started with; null when none were given.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }

    /// <summary>Failure details of a failed instance.</summary>
    public FailureDetails? FailureDetails { get; init; }

    /// <summary>True while the instance is Pending, Running or Suspended.</summary>
    public bool IsRunning => !RuntimeStatus.IsTerminal();

    /// <summary>True once Completed, Failed or Terminated.</summary>
    public bool IsCompleted => RuntimeStatus.IsTerminal();
}
