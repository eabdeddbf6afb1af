using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;

namespace Workflows.DurableTask.Hosting;

/// <summary>
/// Hands DTFx's orchestration dispatcher a fresh shim over the registered <see cref="ITaskOrchestrator"/> for each
/// execution. A name that is not registered gets an orchestration that fails at once with a readable reason, so the
/// instance ends Failed instead of being retried forever (DTFx's default for a missing type).
/// </summary>
internal sealed class RegistryOrchestrationManager(IReadOnlyDictionary<TaskName, Func<IServiceProvider, ITaskOrchestrator>> factories, DurableTaskShimFactory shims, IServiceProvider services)
    : INameVersionObjectManager<TaskOrchestration>
{
    public void Add(ObjectCreator<TaskOrchestration> creator) =>
        throw new NotSupportedException("Orchestrators are registered with the DurableTaskRegistry the worker was built from.");

    public TaskOrchestration GetObject(string name, string? version) =>
        factories.TryGetValue(new TaskName(name), out Func<IServiceProvider, ITaskOrchestrator>? create)
            ? new ParentAwareOrchestration(new TaskName(name), create(services), shims)
            : new MissingOrchestration(name);
}
