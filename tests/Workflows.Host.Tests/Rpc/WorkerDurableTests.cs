using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;
using Workflows.Host.Rpc;
using Xunit;

namespace Workflows.Host.Tests.Rpc;

/// <summary>A task hub whose orchestrators and activities run in the app's worker process, as the Durable extension runs an isolated app.</summary>
internal sealed class WorkerTaskHub : IAsyncDisposable
{
    private readonly IOrchestrationService _service;
    private readonly TaskHubWorkerHost _host;

    private WorkerTaskHub(IOrchestrationService service, TaskHubWorkerHost host)
    {
        _service = service;
        _host = host;
        Client = new OrchestrationServiceDurableTaskClient((IOrchestrationServiceClient)service, new OrchestrationServiceClientOptions
        {
            StatusPollingInterval = service is InMemoryOrchestrationService ? null : TimeSpan.FromMilliseconds(100),
        });
    }

    public OrchestrationServiceDurableTaskClient Client { get; }

    /// <summary>Runs the channel's app on <paramref name="service"/> (default: a new in-memory backend), which the hub then owns.</summary>
    public static async Task<WorkerTaskHub> StartAsync(WorkerChannel channel, IOrchestrationService? service = null)
    {
        service ??= new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { AbandonRetryDelay = TimeSpan.FromMilliseconds(50) });
        // Our task hub hands out extended sessions: the worker keeps them, as the Durable extension's isolated workers do.
        var host = new TaskHubWorkerHost(service, new FunctionsWorkerRunner(channel), sessionIdleTimeout: service is InMemoryOrchestrationService ? null : TimeSpan.FromSeconds(30));
        await host.StartAsync();
        return new WorkerTaskHub(service, host);
    }

    public async Task<OrchestrationMetadata> RunAsync(string name, object? input)
    {
        string id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input);
        return await CompletionAsync(id);
    }

    public async Task<OrchestrationMetadata> CompletionAsync(string id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(isForced: true);
        await _host.DisposeAsync();
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

public sealed class WorkerDurableTests(WorkerAppFixture fixture) : IClassFixture<WorkerAppFixture>
{
    [Fact]
    public async Task A_sequence_of_activities_runs_in_the_worker_with_its_custom_status()
    {
        await using var hub = await WorkerTaskHub.StartAsync(fixture.Channel);

        OrchestrationMetadata done = await hub.RunAsync("UppercaseAll", new[] { "tokyo", "seattle", "london" });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(["TOKYO", "SEATTLE", "LONDON"], done.ReadOutputAs<string[]>()!);
        Assert.Equal("""{"done":3}""", done.SerializedCustomStatus);
    }

    [Fact]
    public async Task A_fan_out_of_object_activities_sums_every_result()
    {
        await using var hub = await WorkerTaskHub.StartAsync(fixture.Channel);
        string[] texts = [.. Enumerable.Range(0, 40).Select(i => new string('x', i))];

        OrchestrationMetadata done = await hub.RunAsync("MeasureAll", texts);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, 40).Sum(), done.ReadOutputAs<int>());
    }

    [Fact]
    public async Task An_activity_failure_reaches_the_orchestrator_with_its_type_and_message()
    {
        await using var hub = await WorkerTaskHub.StartAsync(fixture.Channel);

        OrchestrationMetadata done = await hub.RunAsync("CatchThrow", null);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("System.InvalidOperationException: Throw was asked to fail: on purpose", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task An_orchestrator_the_app_does_not_have_fails_with_a_readable_reason()
    {
        await using var hub = await WorkerTaskHub.StartAsync(fixture.Channel);

        OrchestrationMetadata done = await hub.RunAsync("NoSuchOrchestrator", null);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains("No orchestrator named 'NoSuchOrchestrator'", done.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
    }
}

public sealed class WorkerDurableCrashTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("worker-crash-").FullName;

    [Fact]
    public async Task A_worker_that_dies_mid_activity_is_restarted_and_the_activity_runs_again_with_nothing_lost()
    {
        var delays = new List<TimeSpan>();
        await using var channel = await WorkerApp.StartAsync(WorkerApp.Options(delays: delays), new ScopedLogs());
        int firstWorker = channel.ProcessId ?? throw new InvalidOperationException("No worker process.");
        await using var hub = await WorkerTaskHub.StartAsync(channel);
        string marker = Path.Combine(_folder, "crashed-once");

        OrchestrationMetadata done = await hub.RunAsync("SurviveCrash", marker);

        // The first worker created the marker and died; the activity ran again in the next worker.
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(firstWorker.ToString(System.Globalization.CultureInfo.InvariantCulture), await File.ReadAllTextAsync(marker));
        int secondWorker = int.Parse(done.ReadOutputAs<string>()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(firstWorker, secondWorker);
        Assert.Equal(secondWorker, channel.ProcessId);
        Assert.Single(delays);

        // The history holds the call once: the crashed run left nothing behind.
        IList<HistoryEvent> history = await hub.Client.GetOrchestrationHistoryAsync(done.InstanceId);
        Assert.Single(history.OfType<TaskScheduledEvent>());
        Assert.Single(history.OfType<TaskCompletedEvent>());
        Assert.Empty(history.OfType<TaskFailedEvent>());
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
