using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Workflows.Durable.AzureStorage.Core;
using Workflows.DurableTask;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// A worker in the test's own process: the official SDK's orchestrators and activities on a DTFx
/// <c>TaskHubWorker</c> (<see cref="TaskHubWorkerHost"/>) over our task hub (<see cref="TaskHubOrchestrationService"/>,
/// with a provider of its own), and the SDK's client over the same service. Both use the app's data converter.
/// </summary>
internal sealed class InProcessWorker : IAsyncDisposable
{
    /// <summary>Upper bound of any wait in a test; reaching it fails the test instead of hanging it.</summary>
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(60);

    private InProcessWorker(TaskHubOrchestrationService service, TaskHubWorkerHost host)
    {
        Service = service;
        Host = host;
        Client = new OrchestrationServiceDurableTaskClient(
            service,
            new OrchestrationServiceClientOptions { DataConverter = WebJsonDataConverter.Instance, StatusPollingInterval = TimeSpan.FromMilliseconds(100) });
    }

    /// <summary>The backend: a DTFx orchestration service over its own provider.</summary>
    public TaskHubOrchestrationService Service { get; }

    /// <summary>The provider the backend adapts (leases, fault hooks).</summary>
    public AzureStorageProvider Provider => Service.Provider;

    /// <summary>The DTFx worker running the registered functions.</summary>
    public TaskHubWorkerHost Host { get; }

    /// <summary>The official client over the backend.</summary>
    public OrchestrationServiceDurableTaskClient Client { get; }

    /// <summary>
    /// A worker for what <paramref name="register"/> adds on the hub <paramref name="storage"/> describes, built but not
    /// started (so a test can set the provider's fault hooks first). It runs at most 8 activities and 4 episodes at once.
    /// </summary>
    public static InProcessWorker Create(AzureStorageOptions storage, Action<SdkRegistry> register)
    {
        ArgumentNullException.ThrowIfNull(register);
        var service = new TaskHubOrchestrationService(
            storage,
            new TaskHubOrchestrationServiceOptions { MaxConcurrentActivityWorkItems = 8, MaxConcurrentOrchestrationWorkItems = 4 });
        var registry = new SdkRegistry();
        register(registry);
        return new InProcessWorker(
            service,
            new TaskHubWorkerHost(service, registry, workerOptions: new DurableTaskWorkerOptions { DataConverter = WebJsonDataConverter.Instance }));
    }

    /// <summary>Creates and starts a worker (see <see cref="Create"/>).</summary>
    public static async Task<InProcessWorker> StartAsync(AzureStorageOptions storage, Action<SdkRegistry> register)
    {
        var worker = Create(storage, register);
        await worker.StartAsync();
        return worker;
    }

    /// <summary>A token that fails the wait after <see cref="SafetyTimeout"/>.</summary>
    public static CancellationToken Timeout() => new CancellationTokenSource(SafetyTimeout).Token;

    /// <summary>Creates the hub where missing, takes partition leases and starts dispatching.</summary>
    public Task StartAsync() => Host.StartAsync();

    /// <summary>Schedules an instance and waits for it to finish; the metadata has input and output.</summary>
    public async Task<OrchestrationMetadata> RunAsync(string name, object? input = null, string? instanceId = null)
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId));
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout());
    }

    /// <summary>
    /// Stops the worker hard: DTFx's forced stop, which does not wait for the work items in hand (the activities keep
    /// running, their results never committed by this worker), then the backend's disposal, which is what gives the
    /// partition leases back (the provider's, with the recovery markers of the in-process activities of its
    /// instances). DTFx's stop alone only ends the waits for work: the leases stay held.
    /// </summary>
    public async Task StopHardAsync()
    {
        await Host.StopAsync(isForced: true);
        await Service.DisposeAsync();
    }

    /// <summary>Stops gracefully (the work items in hand finish), then disposes the backend, which gives its leases back.</summary>
    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Service.DisposeAsync();
    }
}
