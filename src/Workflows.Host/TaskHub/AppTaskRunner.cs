using Workflows.DurableTask.Remote;
using Workflows.Host.Diagnostics;
using Workflows.Host.Hosting;
using P = Microsoft.DurableTask.Protobuf;

namespace Workflows.Host.TaskHub;

/// <summary>
/// One rule for where work runs: the app's own orchestrators and activities (by the names its worker indexed) in the
/// function app's worker process, every other name on the Durable Task gRPC workers connected to the sidecar (which
/// wait for one to connect when none is). Each invocation in the app counts in the host's metrics.
/// </summary>
internal sealed class AppTaskRunner(FunctionAppWorker app, IRemoteTaskRunner grpcWorkers, FunctionMetrics metrics) : IRemoteTaskRunner
{
    public bool HasOrchestrator(string name) => app.HasOrchestrator(name) || grpcWorkers.HasOrchestrator(name);

    public bool HasActivity(string name) => app.HasActivity(name) || grpcWorkers.HasActivity(name);

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
