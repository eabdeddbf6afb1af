using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;

namespace Workflows.DurableTask.Hosting;

/// <summary>
/// Creates the SDK's orchestration shim when the execution starts, so that the shim knows the instance's parent
/// (<c>TaskOrchestrationContext.Parent</c>): DTFx looks orchestrations up by name and version only, and the
/// dispatcher middleware of <see cref="TaskHubWorkerHost"/> passes the runtime state in
/// <see cref="CurrentRuntimeState"/>. Nothing here awaits: the shim's task is the orchestration's own.
/// </summary>
internal sealed class ParentAwareOrchestration(TaskName name, ITaskOrchestrator orchestrator, DurableTaskShimFactory shims) : TaskOrchestration
{
    /// <summary>The runtime state of the execution the dispatcher is running on this flow.</summary>
    internal static readonly AsyncLocal<OrchestrationRuntimeState?> CurrentRuntimeState = new();

    private TaskOrchestration? _shim;

    public override Task<string> Execute(OrchestrationContext context, string input)
    {
        ParentOrchestrationInstance? parent = CurrentRuntimeState.Value?.ParentInstance is { } parentInstance
            ? new ParentOrchestrationInstance(new TaskName(parentInstance.Name), parentInstance.OrchestrationInstance.InstanceId)
            : null;
        _shim = shims.CreateOrchestration(name, orchestrator, parent);
        return _shim.Execute(context, input);
    }

    public override string GetStatus() => _shim?.GetStatus()!;

    public override void RaiseEvent(OrchestrationContext context, string name, string input) => _shim?.RaiseEvent(context, name, input);
}
