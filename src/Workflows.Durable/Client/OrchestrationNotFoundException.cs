namespace Workflows.Durable.Client;

/// <summary>The instance does not exist (never created, or purged).</summary>
public sealed class OrchestrationNotFoundException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="instanceId"/>.</summary>
    public OrchestrationNotFoundException(string instanceId)
        : base($"No orchestration instance with id '{instanceId}' exists.")
    {
        InstanceId = instanceId;
    }

    /// <summary>Creates the exception.</summary>
    public OrchestrationNotFoundException()
    {
        InstanceId = string.Empty;
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public OrchestrationNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
        InstanceId = string.Empty;
    }

    /// <summary>The missing instance id.</summary>
    public string InstanceId { get; }
}
