using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Protobuf;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;
using Workflows.DurableTask.Remote;
using Workflows.DurableTask.Sidecar;
using Workflows.DurableTask.Tests.Conformance;
using Workflows.DurableTask.Tests.Remote;
using Xunit;

namespace Workflows.DurableTask.Tests.Hosting;

/// <summary>
/// <see cref="TaskHubWorkerHost"/> with a registry and a fallback runner: registered names run in process, every other
/// name on the fallback, both ways within one instance; with no worker behind the fallback, the work waits.
/// </summary>
public sealed class FallbackRunnerTests
{
    [Fact]
    public async Task Registered_names_run_in_process_and_the_others_on_the_fallback()
    {
        var local = new DurableTaskRegistry();
        local.AddOrchestratorFunc<string, string>("LocalCallsRemote", async (context, name) => await context.CallActivityAsync<string>("RemoteHello", name) + " via local");
        local.AddActivityFunc<string, string>("LocalHello", (_, name) => "local hello " + name);
        var remote = new DurableTaskRegistry();
        remote.AddOrchestratorFunc<string, string>("RemoteCallsLocal", async (context, name) => await context.CallActivityAsync<string>("LocalHello", name) + " via remote");
        remote.AddActivityFunc<string, string>("RemoteHello", (_, name) => "remote hello " + name);
        var runner = new CountingRunner(new InProcessRemoteRunner(remote));
        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { AbandonRetryDelay = TimeSpan.FromMilliseconds(10) });
        await using var worker = new TaskHubWorkerHost(service, local, fallback: runner);
        await worker.StartAsync();
        var client = new OrchestrationServiceDurableTaskClient(service, new OrchestrationServiceClientOptions { StatusPollingInterval = null });

        using var timeout = new CancellationTokenSource(BackendFixture.SafetyTimeout);
        string first = await client.ScheduleNewOrchestrationInstanceAsync("LocalCallsRemote", "a");
        string second = await client.ScheduleNewOrchestrationInstanceAsync("RemoteCallsLocal", "b");
        OrchestrationMetadata one = await client.WaitForInstanceCompletionAsync(first, getInputsAndOutputs: true, timeout.Token);
        OrchestrationMetadata two = await client.WaitForInstanceCompletionAsync(second, getInputsAndOutputs: true, timeout.Token);

        Assert.Equal("remote hello a via local", one.ReadOutputAs<string>());
        Assert.Equal("local hello b via remote", two.ReadOutputAs<string>());
        Assert.Equal(["RemoteHello"], runner.Activities);
        Assert.All(runner.Orchestrators, static name => Assert.Equal("RemoteCallsLocal", name));
    }

    [Fact]
    public async Task An_unknown_name_with_no_worker_connected_waits_instead_of_failing()
    {
        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { AbandonRetryDelay = TimeSpan.FromMilliseconds(10) });
        await using var worker = new TaskHubWorkerHost(service, new DurableTaskRegistry(), fallback: new WorkItemStreams());
        await worker.StartAsync();
        var client = new OrchestrationServiceDurableTaskClient(service, new OrchestrationServiceClientOptions { StatusPollingInterval = null });

        string id = await client.ScheduleNewOrchestrationInstanceAsync("NoSuchOrchestrator");
        await Task.Delay(TimeSpan.FromMilliseconds(500));

        OrchestrationMetadata? waiting = await client.GetInstanceAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Pending, waiting?.RuntimeStatus);
    }

    private sealed class CountingRunner(IRemoteTaskRunner inner) : IRemoteTaskRunner
    {
        public List<string> Orchestrators { get; } = [];

        public List<string> Activities { get; } = [];

        public bool HasOrchestrator(string name) => inner.HasOrchestrator(name);

        public bool HasActivity(string name) => inner.HasActivity(name);

        public Task<OrchestratorResponse> RunOrchestratorAsync(string name, OrchestratorRequest request, CancellationToken cancellationToken)
        {
            lock (Orchestrators)
            {
                Orchestrators.Add(name);
            }

            return inner.RunOrchestratorAsync(name, request, cancellationToken);
        }

        public Task<RemoteActivityResult> RunActivityAsync(RemoteActivityRequest request, CancellationToken cancellationToken)
        {
            lock (Activities)
            {
                Activities.Add(request.Name);
            }

            return inner.RunActivityAsync(request, cancellationToken);
        }
    }
}
