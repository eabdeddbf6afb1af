using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Workflows.DurableTask;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.Functions;
using Workflows.Functions.Canary;
using Workflows.Testing;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Kernels;
using Workflows.ML.Registry;

namespace Workflows.Bench;

/// <summary>
/// The function app's orchestrations and activities on a DTFx worker over a backend (in-memory or a task hub), with
/// the official client; both use the app's data converter, as the host does.
/// </summary>
internal sealed class AppEngine : IAsyncDisposable
{
    private readonly TaskHubWorkerHost _host;
    private bool _stopped;

    private AppEngine(IOrchestrationService service, TaskHubWorkerHost host)
    {
        Service = service;
        _host = host;
        Client = new OrchestrationServiceDurableTaskClient(
            (IOrchestrationServiceClient)service,
            new OrchestrationServiceClientOptions { DataConverter = WebJsonDataConverter.Instance });
    }

    public IOrchestrationService Service { get; }

    public DurableTaskClient Client { get; }

    /// <summary>Starts a worker with the app's functions over <paramref name="service"/> (which must also be its client).</summary>
    public static async Task<AppEngine> StartAsync(
        IOrchestrationService service,
        IStatisticsKernel? kernel = null,
        IModelRegistry? modelRegistry = null,
        DecodedChunkCache? chunkCache = null,
        IServingAdmin? servingAdmin = null)
    {
        var registry = new DurableTaskRegistry().AddWorkflowFunctions(BenchStorage.Local, kernel, modelRegistry, chunkCache, BenchStorage.Root, servingAdmin);
        var host = new TaskHubWorkerHost(service, registry, workerOptions: new DurableTaskWorkerOptions { DataConverter = WebJsonDataConverter.Instance });
        await host.StartAsync();
        return new AppEngine(service, host);
    }

    /// <summary>Stops the worker (what its functions hold can then be collected).</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _host.StopAsync(isForced: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _host.DisposeAsync();
    }
}
