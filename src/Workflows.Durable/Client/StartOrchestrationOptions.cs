namespace Workflows.Durable.Client;

/// <summary>Options of a new orchestration instance.</summary>
/// <param name="InstanceId">Instance id; a new GUID when null.</param>
/// <param name="StartAt">Deferred start time; the instance is Pending until then.</param>
public sealed record StartOrchestrationOptions(string? InstanceId = null, DateTimeOffset? StartAt = null);
