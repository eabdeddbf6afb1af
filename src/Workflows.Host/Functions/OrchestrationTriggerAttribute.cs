namespace Workflows.Host.Functions;

/// <summary>Binds the <see cref="Workflows.Durable.TaskOrchestrationContext"/> of an orchestrator function.</summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class OrchestrationTriggerAttribute : Attribute;
