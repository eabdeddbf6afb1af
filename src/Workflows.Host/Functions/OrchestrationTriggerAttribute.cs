namespace Workflows.Host.Functions;

/// <summary>Binds the <see cref="Microsoft.DurableTask.TaskOrchestrationContext"/> of an orchestrator function.</summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class OrchestrationTriggerAttribute : Attribute;
