namespace Workflows.Durable.Client;

/// <summary>
/// The operation does not apply to the instance in its current state: raising an event on or terminating a
/// finished instance, rewinding one that did not fail (HTTP 410 Gone in the management API).
/// </summary>
public sealed class OrchestrationStateConflictException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public OrchestrationStateConflictException(string instanceId, OrchestrationRuntimeStatus status, string operation)
        : base($"Cannot {operation} instance '{instanceId}': it is {status}.")
    {
        InstanceId = instanceId;
        Status = status;
    }

    /// <summary>Creates the exception.</summary>
    public OrchestrationStateConflictException()
    {
        InstanceId = string.Empty;
    }

    /// <summary>Creates the exception with a message.</summary>
    public OrchestrationStateConflictException(string message)
        : base(message)
    {
        InstanceId = string.Empty;
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public OrchestrationStateConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
        InstanceId = string.Empty;
    }

    /// <summary>The instance id.</summary>
    public string InstanceId { get; }

    /// <summary>Its status when the operation was refused.</summary>
    public OrchestrationRuntimeStatus Status { get; }
}
