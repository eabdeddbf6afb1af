using Microsoft.DurableTask.Protobuf;

namespace Workflows.DurableTask.Remote;

/// <summary>
/// Runs orchestrator episodes and activities outside the dispatching process (a Functions worker, a Durable Task SDK
/// worker), in the Durable Task gRPC protocol's messages: an episode is an <see cref="OrchestratorRequest"/> (the
/// history in) answered by an <see cref="OrchestratorResponse"/> (the actions out), as the Durable Functions extension
/// sends them to isolated workers.
/// </summary>
/// <remarks>
/// A runner that cannot reach its worker (it died, or the host is stopping) throws
/// <see cref="RemoteWorkerUnavailableException"/>: the work item goes back to the backend and runs again, losing
/// nothing. Any other exception fails the orchestration or the activity with that exception's message.
/// </remarks>
public interface IRemoteTaskRunner
{
    /// <summary>Whether the worker has an orchestrator named <paramref name="name"/>.</summary>
    bool HasOrchestrator(string name);

    /// <summary>Whether the worker has an activity named <paramref name="name"/>.</summary>
    bool HasActivity(string name);

    /// <summary>Runs one episode of the orchestrator <paramref name="name"/>.</summary>
    Task<OrchestratorResponse> RunOrchestratorAsync(string name, OrchestratorRequest request, CancellationToken cancellationToken);

    /// <summary>Runs one activity: its serialized output, or the failure its code threw.</summary>
    Task<RemoteActivityResult> RunActivityAsync(RemoteActivityRequest request, CancellationToken cancellationToken);
}
