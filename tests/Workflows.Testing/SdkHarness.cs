using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Workflows.DurableTask;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;

namespace Workflows.Testing;

/// <summary>
/// Orchestrators and activities written with the official SDK on a DTFx worker (in-memory backend unless given one),
/// with the official client; both use the app's data converter (<see cref="WebJsonDataConverter"/>).
/// </summary>
public sealed class SdkHarness : IAsyncDisposable
{
    /// <summary>Upper bound of any wait; reaching it fails the test instead of hanging it.</summary>
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromMinutes(2);

    private readonly TaskHubWorkerHost _host;
    private readonly bool _ownsService;

    private SdkHarness(IOrchestrationService service, IOrchestrationServiceClient client, TaskHubWorkerHost host, bool ownsService)
    {
        Service = service;
        _host = host;
        _ownsService = ownsService;
        Client = new OrchestrationServiceDurableTaskClient(
            client,
            new OrchestrationServiceClientOptions { DataConverter = WebJsonDataConverter.Instance, StatusPollingInterval = service is InMemoryOrchestrationService ? null : TimeSpan.FromMilliseconds(50) });
    }

    /// <summary>The backend.</summary>
    public IOrchestrationService Service { get; }

    /// <summary>The official client over the backend.</summary>
    public DurableTaskClient Client { get; }

    /// <summary>Starts a worker for what <paramref name="register"/> adds, on a new in-memory backend.</summary>
    public static Task<SdkHarness> StartAsync(Action<DurableTaskRegistry> register, IServiceProvider? services = null, TimeProvider? timeProvider = null)
    {
        var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions
        {
            TimeProvider = timeProvider ?? TimeProvider.System,
            AbandonRetryDelay = TimeSpan.FromMilliseconds(50),
            ExtendedSessionIdleTimeout = TimeSpan.FromSeconds(30),
        });
        return StartAsync(service, (IOrchestrationServiceClient)service, register, services, ownsService: true);
    }

    /// <summary>Starts a worker for what <paramref name="register"/> adds on <paramref name="service"/>.</summary>
    public static async Task<SdkHarness> StartAsync(
        IOrchestrationService service, IOrchestrationServiceClient client, Action<DurableTaskRegistry> register, IServiceProvider? services = null, bool ownsService = false)
    {
        ArgumentNullException.ThrowIfNull(register);
        var registry = new DurableTaskRegistry();
        register(registry);
        var host = new TaskHubWorkerHost(service, registry, services, workerOptions: new DurableTaskWorkerOptions { DataConverter = WebJsonDataConverter.Instance });
        await host.StartAsync();
        return new SdkHarness(service, client, host, ownsService);
    }

    /// <summary>A token that fails the wait after <see cref="SafetyTimeout"/>.</summary>
    public static CancellationToken Timeout() => new CancellationTokenSource(SafetyTimeout).Token;

    /// <summary>Schedules an instance and waits for it to finish; the metadata has input and output.</summary>
    public async Task<OrchestrationMetadata> RunAsync(string name, object? input = null, string? instanceId = null)
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId));
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout());
    }

    /// <summary>The instance's history, oldest first.</summary>
    public async Task<IList<global::DurableTask.Core.History.HistoryEvent>> HistoryAsync(string instanceId) =>
        await Client.GetOrchestrationHistoryAsync(instanceId, Timeout());

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(isForced: true);
        await _host.DisposeAsync();
        if (_ownsService)
        {
            (Service as IDisposable)?.Dispose();
        }
    }
}
