namespace Workflows.Durable.Storage;

/// <summary>Thrown when starting an instance id that is still Pending, Running or Suspended.</summary>
public sealed class OrchestrationAlreadyExistsException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="instanceId"/>.</summary>
    public OrchestrationAlreadyExistsException(string instanceId, OrchestrationRuntimeStatus status)
        : base($"An orchestration with instance id '{instanceId}' already exists and is {status}. Wait for it to finish, terminate it, or use another instance id.")
    {
        InstanceId = instanceId;
        Status = status;
    }

    /// <summary>Creates the exception.</summary>
    public OrchestrationAlreadyExistsException()
    {
        InstanceId = string.Empty;
    }

    /// <summary>Creates the exception with a message.</summary>
    public OrchestrationAlreadyExistsException(string message)
        : base(message)
    {
        InstanceId = string.Empty;
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public OrchestrationAlreadyExistsException(string message, Exception innerException)
        : base(message, innerException)
    {
        InstanceId = string.Empty;
    }

    /// <summary>The conflicting instance id.</summary>
    public string InstanceId { get; }

    /// <summary>Its current status.</summary>
    public OrchestrationRuntimeStatus Status { get; }
}
