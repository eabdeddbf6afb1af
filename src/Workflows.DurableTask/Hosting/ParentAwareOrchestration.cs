using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;

namespace Workflows.DurableTask.Hosting;

/// <summary>
/// Creates the SDK's orchestration shim when the execution starts, so that the shim knows the instance's parent
/// (<c>TaskOrchestrationContext.Parent</c>): DTFx looks orchestrations up by name and version only, and the
/// dispatcher middleware of <see cref="TaskHubWorkerHost"/> passes the runtime state in
/// <see cref="CurrentRuntimeState"/>. Nothing here awaits: the orchestration's task completes inline with the
/// shim's.
/// </summary>
/// <remarks>
/// An event the shim cannot take (its payload does not read as the type the orchestration waits for, or is missing
/// where that type cannot be null) fails the instance with a reason naming the event: the exception would otherwise
/// leave DTFx's dispatcher, which abandons the work item and retries it for ever.
/// </remarks>
internal sealed class ParentAwareOrchestration(TaskName name, ITaskOrchestrator orchestrator, DurableTaskShimFactory shims) : TaskOrchestration
{
    /// <summary>The runtime state of the execution the dispatcher is running on this flow.</summary>
    internal static readonly AsyncLocal<OrchestrationRuntimeState?> CurrentRuntimeState = new();

    private TaskOrchestration? _shim;

    // Not RunContinuationsAsynchronously: DTFx reads the task's state right after each event, on this thread.
    private readonly TaskCompletionSource<string> _result = new();

    public override Task<string> Execute(OrchestrationContext context, string input)
    {
        ParentOrchestrationInstance? parent = CurrentRuntimeState.Value?.ParentInstance is { } parentInstance
            ? new ParentOrchestrationInstance(new TaskName(parentInstance.Name), parentInstance.OrchestrationInstance.InstanceId)
            : null;
        _shim = shims.CreateOrchestration(name, orchestrator, parent);
        _ = _shim.Execute(context, input).ContinueWith(
            (run, result) => Relay(run, (TaskCompletionSource<string>)result!),
            _result,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return _result.Task;
    }

    public override string GetStatus() => _shim?.GetStatus()!;

    public override void RaiseEvent(OrchestrationContext context, string name, string input)
    {
        try
        {
            _shim?.RaiseEvent(context, name, input);
        }
#pragma warning disable CA1031 // Any exception here fails the instance instead of the dispatcher's work item.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            string reason = input is null
                ? $"The event '{name}' came without a payload, and the orchestration waits for a value that cannot be null."
                : $"The payload of the event '{name}' could not be read as the value the orchestration waits for: {exception.Message}";
            _result.TrySetException(new InvalidOperationException(reason, exception));
        }
    }

    private static void Relay(Task<string> run, TaskCompletionSource<string> result)
    {
        if (run.IsCanceled)
        {
            result.TrySetCanceled();
        }
        else if (run.Exception is { } failure)
        {
            result.TrySetException(failure.InnerExceptions);
        }
        else
        {
            result.TrySetResult(run.Result);
        }
    }
}
