using DurableTask.Core;
using Microsoft.DurableTask;

namespace Workflows.DurableTask.Hosting;

/// <summary>
/// Hands a DTFx dispatcher the DTFx object (an SDK shim) for a registered orchestrator or activity, created afresh for
/// each request. A name that is not registered gets a stand-in that fails with a readable reason, so the instance or
/// task ends Failed instead of its work item being retried forever (DTFx's default for a missing type); so does one
/// whose factory throws (a constructor dependency missing, say): the stand-in fails with that exception.
/// </summary>
/// <typeparam name="TCore">DTFx's type: <see cref="TaskOrchestration"/> or <see cref="TaskActivity"/>.</typeparam>
/// <typeparam name="TSdk">The SDK's type: <see cref="ITaskOrchestrator"/> or <see cref="ITaskActivity"/>.</typeparam>
internal sealed class RegistryObjectManager<TCore, TSdk>(
    IReadOnlyDictionary<TaskName, Func<IServiceProvider, TSdk>> factories,
    IServiceProvider services,
    Func<TaskName, TSdk, TCore> wrap,
    Func<string, TCore> missing,
    Func<string, Exception, TCore> unbuildable)
    : INameVersionObjectManager<TCore>
{
    public void Add(ObjectCreator<TCore> creator) =>
        throw new NotSupportedException("Orchestrators and activities are registered with the DurableTaskRegistry the worker was built from.");

    public TCore GetObject(string name, string? version)
    {
        if (!factories.TryGetValue(new TaskName(name), out Func<IServiceProvider, TSdk>? create))
        {
            return missing(name);
        }

        TSdk created;
        try
        {
            created = create(services);
        }
#pragma warning disable CA1031 // Whatever the factory throws is the task's failure.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            return unbuildable(name, exception);
        }

        return wrap(new TaskName(name), created);
    }
}
