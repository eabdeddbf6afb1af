using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.DurableTask.Worker;
using Workflows.DurableTask;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;
using Workflows.Functions.Canary;
using Workflows.Functions.Search;
using Workflows.ML.Data;
using Workflows.ML.Registry;
using Workflows.Testing;

namespace Workflows.Functions.Tests.Search;

/// <summary>
/// The function app's orchestrators and activities (the search among them) on a DTFx worker over the in-memory backend,
/// with the official client, each activity wrapped to count its executions; both use the host's data converter.
/// </summary>
internal sealed class SearchHarness : IAsyncDisposable
{
    /// <summary>Upper bound of any wait; reaching it fails the test instead of hanging it.</summary>
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromMinutes(3);

    private readonly DurableTaskRegistry _registry;
    private TaskHubWorkerHost _host;

    private SearchHarness(InMemoryOrchestrationService service, DurableTaskRegistry registry, TaskHubWorkerHost host, ConcurrentDictionary<string, int> calls)
    {
        Service = service;
        _registry = registry;
        _host = host;
        Calls = calls;
        Client = new OrchestrationServiceDurableTaskClient(service, new OrchestrationServiceClientOptions { DataConverter = WebJsonDataConverter.Instance });
    }

    public InMemoryOrchestrationService Service { get; }

    public DurableTaskClient Client { get; }

    /// <summary>Executions per activity name.</summary>
    public ConcurrentDictionary<string, int> Calls { get; }

    public int CallsOf(string activity) => Calls.GetValueOrDefault(activity);

    public int TotalCalls => Calls.Values.Sum();

    /// <summary>
    /// Starts the app's functions; <paramref name="beforeActivity"/>, when given, runs before each activity execution
    /// with its name (a test's gate); <paramref name="serving"/> stands for the prediction service's admin API.
    /// </summary>
    public static async Task<SearchHarness> StartAsync(IModelRegistry registry, Func<string, Task>? beforeActivity = null, IServingAdmin? serving = null)
    {
        var calls = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var registry2 = new DurableTaskRegistry();
        var app = new DurableTaskRegistry().AddWorkflowFunctions(TestStorage.Local, modelRegistry: registry, dataRoot: TestStorage.Root, servingAdmin: serving);
        foreach (var (name, factory) in app.GetOrchestrators())
        {
            registry2.AddOrchestrator(name, () => factory(NoServices.Instance));
        }

        foreach (var (name, factory) in app.GetActivities())
        {
            registry2.AddActivity(name, provider => new CountingActivity(name.Name, factory(provider), calls, beforeActivity));
        }

        var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { AbandonRetryDelay = TimeSpan.FromMilliseconds(50) });
        var host = Worker(service, registry2);
        await host.StartAsync();
        return new SearchHarness(service, registry2, host, calls);
    }

    /// <summary>
    /// Stops the worker at once, as a crash would (the episode and activities in hand are abandoned), and starts a new
    /// one on the same backend, which picks the instances up from their histories.
    /// </summary>
    public async Task RestartWorkerAsync()
    {
        await _host.StopAsync(isForced: true);
        await _host.DisposeAsync();
        _host = Worker(Service, _registry);
        await _host.StartAsync();
    }

    /// <summary>Runs <paramref name="orchestrator"/> to its end and returns its metadata with input and output.</summary>
    public async Task<OrchestrationMetadata> RunAsync(string orchestrator, object input)
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(orchestrator, input);
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
    }

    private static TaskHubWorkerHost Worker(InMemoryOrchestrationService service, DurableTaskRegistry registry) =>
        new(service, registry, workerOptions: new DurableTaskWorkerOptions { DataConverter = WebJsonDataConverter.Instance });

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(isForced: true);
        await _host.DisposeAsync();
        Service.Dispose();
    }

    private sealed class CountingActivity(string name, ITaskActivity inner, ConcurrentDictionary<string, int> calls, Func<string, Task>? beforeActivity) : ITaskActivity
    {
        public Type InputType => inner.InputType;

        public Type OutputType => inner.OutputType;

        public async Task<object?> RunAsync(TaskActivityContext context, object? input)
        {
            if (beforeActivity is not null)
            {
                await beforeActivity(name);
            }

            calls.AddOrUpdate(name, 1, (_, count) => count + 1);
            return await inner.RunAsync(context, input);
        }
    }
}
