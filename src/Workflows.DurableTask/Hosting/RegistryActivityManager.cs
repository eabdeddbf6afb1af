using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;

namespace Workflows.DurableTask.Hosting;

/// <summary>
/// Hands DTFx's activity dispatcher a shim over the registered <see cref="ITaskActivity"/>. A name that is not
/// registered gets an activity that fails with a readable reason: the orchestrator sees a
/// <see cref="Microsoft.DurableTask.TaskFailedException"/> instead of the work item being retried forever.
/// </summary>
internal sealed class RegistryActivityManager(IReadOnlyDictionary<TaskName, Func<IServiceProvider, ITaskActivity>> factories, DurableTaskShimFactory shims, IServiceProvider services)
    : INameVersionObjectManager<TaskActivity>
{
    public void Add(ObjectCreator<TaskActivity> creator) =>
        throw new NotSupportedException("Activities are registered with the DurableTaskRegistry the worker was built from.");

    public TaskActivity GetObject(string name, string? version) =>
        factories.TryGetValue(new TaskName(name), out Func<IServiceProvider, ITaskActivity>? create)
            ? shims.CreateActivity(new TaskName(name), create(services))
            : new MissingActivity(name);
}
