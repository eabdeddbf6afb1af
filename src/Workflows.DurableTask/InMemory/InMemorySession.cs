using DurableTask.Core;

namespace Workflows.DurableTask.InMemory;

/// <summary>
/// An extended session on one instance: the worker keeps the instance (and its replayed state) between episodes and
/// is handed new messages as they arrive, until none come for the idle timeout.
/// </summary>
internal sealed class InMemorySession(InMemoryOrchestrationService service, InstanceRecord record, TimeSpan idleTimeout) : IOrchestrationSession
{
    public Task<IList<TaskMessage>?> FetchNewOrchestrationMessagesAsync(TaskOrchestrationWorkItem workItem)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        return service.FetchSessionMessagesAsync(record, workItem, idleTimeout);
    }

    public Task EndSessionAsync() => Task.CompletedTask;
}
