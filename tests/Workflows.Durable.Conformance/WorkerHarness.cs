using Microsoft.Extensions.Logging;
using Workflows.Durable.Client;
using Workflows.Durable.Storage;
using Workflows.Durable.Worker;

namespace Workflows.Durable.Conformance;

/// <summary>A started worker plus a client over one provider, for end-to-end tests.</summary>
public sealed class WorkerHarness : IAsyncDisposable
{
    /// <summary>Upper bound of any wait in a test; reaching it fails the test instead of hanging it.</summary>
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(60);

    private WorkerHarness(IStorageProvider provider, DurableTaskWorker worker, DurableTaskClient client)
    {
        Provider = provider;
        Worker = worker;
        Client = client;
    }

    public IStorageProvider Provider { get; }

    public DurableTaskWorker Worker { get; }

    public DurableTaskClient Client { get; }

    public static async Task<WorkerHarness> StartAsync(
        IStorageProvider provider,
        Action<DurableTaskRegistry> register,
        DurableTaskWorkerOptions? options = null,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(register);
        var registry = new DurableTaskRegistry();
        register(registry);
        options ??= new DurableTaskWorkerOptions { MaxConcurrentActivityFunctions = 8, MaxConcurrentOrchestratorFunctions = 4 };
        var worker = new DurableTaskWorker(provider, registry, options, loggerFactory, timeProvider);
        await worker.StartAsync(CancellationToken.None);
        return new WorkerHarness(provider, worker, new DurableTaskClient(provider, timeProvider: timeProvider));
    }

    /// <summary>A token that fails the wait after <see cref="SafetyTimeout"/>.</summary>
    public static CancellationToken Timeout() => new CancellationTokenSource(SafetyTimeout).Token;

    /// <summary>Schedules an instance and waits for it to finish.</summary>
    public async Task<OrchestrationMetadata> RunAsync(string name, object? input = null, string? instanceId = null)
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId));
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout());
    }

    /// <summary>Waits until the instance's state satisfies <paramref name="condition"/>.</summary>
    public Task<OrchestrationMetadata> WaitAsync(string instanceId, Func<OrchestrationMetadata, bool> condition) =>
        Client.WaitForInstanceAsync(instanceId, condition, getInputsAndOutputs: true, Timeout());

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        await Worker.StopAsync(timeout.Token);
        await Worker.DisposeAsync();
    }
}
