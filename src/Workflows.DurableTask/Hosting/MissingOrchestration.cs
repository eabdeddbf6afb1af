using DurableTask.Core;

namespace Workflows.DurableTask.Hosting;

/// <summary>Stands in for an orchestrator name that is not registered: the instance fails with a readable reason.</summary>
internal sealed class MissingOrchestration(string name) : TaskOrchestration
{
    public override Task<string> Execute(OrchestrationContext context, string input) =>
        Task.FromException<string>(new TaskNotRegisteredException($"No orchestrator named '{name}' is registered with this worker."));

    public override string GetStatus() => null!;

    public override void RaiseEvent(OrchestrationContext context, string name, string input)
    {
    }
}
