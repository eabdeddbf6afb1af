using DurableTask.AzureStorage;
using DurableTask.Core;
using Workflows.Durable.AzureStorage.Core;
using Workflows.Durable.AzureStorage.TestWorker;
using Workflows.DurableTask;
using Workflows.DurableTask.Client;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// The official SDK's client on a task hub that worker processes run: over our backend
/// (<see cref="TaskHubOrchestrationService"/>) or DTFx's (<see cref="AzureStorageOrchestrationService"/>), which the
/// test builds on the hub's settings and never starts as a worker (it takes no leases and runs nothing).
/// </summary>
internal sealed class SdkHubClient : IAsyncDisposable
{
    private readonly IOrchestrationService _service;

    private SdkHubClient(IOrchestrationService service)
    {
        _service = service;
        Client = new OrchestrationServiceDurableTaskClient(
            (IOrchestrationServiceClient)service,
            new OrchestrationServiceClientOptions { DataConverter = WebJsonDataConverter.Instance, StatusPollingInterval = TimeSpan.FromMilliseconds(100) });
    }

    public OrchestrationServiceDurableTaskClient Client { get; }

    /// <summary>A client for <paramref name="hub"/> through <paramref name="backend"/> (<c>workflows</c> or <c>dtfx</c>).</summary>
    public static SdkHubClient Create(string backend, AzureStorageOptions hub) => backend switch
    {
        TestWorkerArgs.WorkflowsBackend => new SdkHubClient(new TaskHubOrchestrationService(hub)),
        TestWorkerArgs.DtfxBackend => new SdkHubClient(new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            StorageAccountClientProvider = new StorageAccountClientProvider(hub.ConnectionString),
            TaskHubName = hub.TaskHubName,
            PartitionCount = hub.PartitionCount,
        })),
        _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, "workflows or dtfx"),
    };

    /// <summary>Deletes the hub's storage (queues, tables, blobs).</summary>
    public Task DeleteHubAsync() => _service.DeleteAsync();

    public async ValueTask DisposeAsync()
    {
        switch (_service)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
