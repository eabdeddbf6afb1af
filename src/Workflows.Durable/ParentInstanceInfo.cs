namespace Workflows.Durable;

/// <summary>The parent of a sub-orchestration: where its completion is reported.</summary>
/// <param name="InstanceId">Parent instance id.</param>
/// <param name="ExecutionId">Parent execution id.</param>
/// <param name="TaskScheduledId">Id of the parent's SubOrchestrationInstanceCreated event.</param>
/// <param name="Name">Parent orchestrator name.</param>
/// <param name="Version">Parent orchestrator version (Durable Task Framework orchestrations).</param>
public sealed record ParentInstanceInfo(string InstanceId, string ExecutionId, int TaskScheduledId, string Name, string? Version = null);
