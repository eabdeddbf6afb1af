using Workflows.DurableTask.Remote;
using Workflows.DurableTask.Sidecar;
using Workflows.Host.Diagnostics;
using Workflows.Host.FunctionApp;
using P = Microsoft.DurableTask.Protobuf;

namespace Workflows.Host.TaskHub;

/// <summary>
/// One rule for where work runs: the app's own orchestrators and activities (by the names its worker indexed) in the
/// function app's worker process, every other name on the Durable Task gRPC workers connected to the sidecar. Until a
/// gRPC worker has connected, a name the app does not have is unknown: its start is refused and its episode or activity
/// fails at once with a readable reason, rather than waiting for a worker that may never come. Once one has connected,
/// such work waits for a gRPC worker, so a worker that dies or restarts loses nothing. Each invocation in the app
/// counts in the host's metrics.
/// </summary>
internal sealed class AppTaskRunner(FunctionAppWorker app, WorkItemStreams grpcWorkers, FunctionMetrics metrics) : IRemoteTaskRunner
{
    public bool HasOrchestrator(string name) => app.HasOrchestrator(name) || grpcWorkers.EverConnected;

    public bool HasActivity(string name) => app.HasActivity(name) || grpcWorkers.EverConnected;

    public Task<P.OrchestratorResponse> RunOrchestratorAsync(string name, P.OrchestratorRequest request, CancellationToken cancellationToken) =>
        app.HasOrchestrator(name)
            ? metrics.MeasureAsync(name, "orchestrationTrigger", () => app.Runner.RunOrchestratorAsync(name, request, cancellationToken))
            : grpcWorkers.RunOrchestratorAsync(name, request, cancellationToken);

    public async Task<RemoteActivityResult> RunActivityAsync(RemoteActivityRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!app.HasActivity(request.Name))
        {
            return await grpcWorkers.RunActivityAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var result = await metrics.MeasureAsync(request.Name, "activityTrigger", () => app.Runner.RunActivityAsync(request, cancellationToken)).ConfigureAwait(false);
        if (result.Failure is not null)
        {
            metrics.CountFailure(request.Name, "activityTrigger");
        }

        return result;
    }
}
