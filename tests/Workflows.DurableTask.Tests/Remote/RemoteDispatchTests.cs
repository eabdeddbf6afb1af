using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Protobuf;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;
using Workflows.DurableTask.Remote;
using Workflows.DurableTask.Tests.Conformance;
using Xunit;

namespace Workflows.DurableTask.Tests.Remote;

/// <summary>What the remote dispatch does when the worker is away, and how it hands inputs over.</summary>
public sealed class RemoteDispatchTests
{
    [Fact]
    public async Task Work_the_worker_could_not_take_goes_back_and_runs_again_with_nothing_lost()
    {
        var registry = new DurableTaskRegistry();
        ConformanceTasks.Register(registry);

        // The first two episodes and the first three activities find the worker gone.
        var runner = new AwayRunner(new InProcessRemoteRunner(registry), episodesAway: 2, activitiesAway: 3);
        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { AbandonRetryDelay = TimeSpan.FromMilliseconds(10) });
        await using var worker = new TaskHubWorkerHost(service, runner);
        await worker.StartAsync();
        var client = new OrchestrationServiceDurableTaskClient(service, new OrchestrationServiceClientOptions { StatusPollingInterval = null });

        string id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.FanOutFanIn), 5);
        using var timeout = new CancellationTokenSource(BackendFixture.SafetyTimeout);
        OrchestrationMetadata done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(1 + 4 + 9 + 16 + 25, done.ReadOutputAs<long>());
        Assert.Equal(2, runner.EpisodesTurnedAway);
        Assert.Equal(3, runner.ActivitiesTurnedAway);

        // Each square was answered once: the calls the worker turned away left nothing in the history.
        var history = await client.GetOrchestrationHistoryAsync(id);
        Assert.Equal(5, history.Count(e => e.EventType == global::DurableTask.Core.History.EventType.TaskCompleted));
        Assert.Equal(5, history.Count(e => e.EventType == global::DurableTask.Core.History.EventType.TaskScheduled));
    }

    [Fact]
    public async Task In_an_extended_session_later_episodes_send_only_new_events_and_the_whole_history_when_the_worker_lost_it()
    {
        var registry = new DurableTaskRegistry();
        ConformanceTasks.Register(registry);
        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { ExtendedSessionIdleTimeout = TimeSpan.FromSeconds(5) });
        using var keeping = new InProcessRemoteRunner(registry);
        var recording = new RecordingRunner(keeping);
        await using (var worker = new TaskHubWorkerHost(service, recording, sessionIdleTimeout: TimeSpan.FromSeconds(30)))
        {
            await worker.StartAsync();
            var client = new OrchestrationServiceDurableTaskClient(service, new OrchestrationServiceClientOptions { StatusPollingInterval = null });
            using var timeout = new CancellationTokenSource(BackendFixture.SafetyTimeout);
            string id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.HelloSequence));
            OrchestrationMetadata done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            await worker.StopAsync(isForced: true);
        }

        // The worker kept the session: after the first episode, none carried past events and none asked for them.
        Assert.True(recording.Requests.Count >= 4, $"{recording.Requests.Count} episodes");
        Assert.NotEmpty(recording.Requests[0].PastEvents.Concat(recording.Requests[0].NewEvents));
        Assert.All(recording.Requests.Skip(1), request =>
        {
            Assert.Empty(request.PastEvents);
            Assert.False(request.Properties["IncludeState"].BoolValue);
        });
        Assert.DoesNotContain(recording.Responses, response => response.RequiresHistory);

        // A worker without the session (a restarted one) asks for the history, and gets it at once.
        var forgetful = new RecordingRunner(new InProcessRemoteRunner(registry), keepSessions: false);
        using var again = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { ExtendedSessionIdleTimeout = TimeSpan.FromSeconds(5) });
        await using (var worker = new TaskHubWorkerHost(again, forgetful, sessionIdleTimeout: TimeSpan.FromSeconds(30)))
        {
            await worker.StartAsync();
            var client = new OrchestrationServiceDurableTaskClient(again, new OrchestrationServiceClientOptions { StatusPollingInterval = null });
            using var timeout = new CancellationTokenSource(BackendFixture.SafetyTimeout);
            string id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.HelloSequence));
            OrchestrationMetadata done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal(["Hello Tokyo!", "Hello Seattle!", "Hello London!"], done.ReadOutputAs<List<string>>());
            await worker.StopAsync(isForced: true);
        }

        Assert.Contains(forgetful.Responses, response => response.RequiresHistory);
        Assert.All(
            forgetful.Requests.Zip(forgetful.Responses).Where(pair => pair.Second.RequiresHistory),
            pair => Assert.False(pair.First.Properties["IncludeState"].BoolValue));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", "")]
    [InlineData("[\"Tokyo\"]", "\"Tokyo\"")]
    [InlineData("[null]", "null")]
    [InlineData("[[1,2]]", "[1,2]")]
    [InlineData("[1,2]", "[1,2]")]
    [InlineData("{\"a\":[1]}", "{\"a\":[1]}")]
    public void An_activity_gets_the_one_parameter_DTFx_wrapped_in_an_array(string? scheduled, string? expected) =>
        Assert.Equal(expected, RemoteDispatch.SingleParameter(scheduled));

    /// <summary>Records every episode's request and response; without sessions, it runs each episode in a worker that keeps none.</summary>
    private sealed class RecordingRunner(InProcessRemoteRunner inner, bool keepSessions = true) : IRemoteTaskRunner
    {
        private readonly Lock _gate = new();

        public List<OrchestratorRequest> Requests { get; } = [];

        public List<OrchestratorResponse> Responses { get; } = [];

        public bool HasOrchestrator(string name) => inner.HasOrchestrator(name);

        public bool HasActivity(string name) => inner.HasActivity(name);

        public async Task<OrchestratorResponse> RunOrchestratorAsync(string name, OrchestratorRequest request, CancellationToken cancellationToken)
        {
            OrchestratorResponse response = keepSessions
                ? await inner.RunOrchestratorAsync(name, request, cancellationToken)
                : await inner.RunWithoutSessionAsync(name, request);
            lock (_gate)
            {
                Requests.Add(request);
                Responses.Add(response);
            }

            return response;
        }

        public Task<RemoteActivityResult> RunActivityAsync(RemoteActivityRequest request, CancellationToken cancellationToken) => inner.RunActivityAsync(request, cancellationToken);
    }

    /// <summary>Turns the first episodes and activities away as a dead worker would, then runs them.</summary>
    private sealed class AwayRunner(IRemoteTaskRunner inner, int episodesAway, int activitiesAway) : IRemoteTaskRunner
    {
        private int _episodes;
        private int _activities;

        public int EpisodesTurnedAway => Math.Min(Volatile.Read(ref _episodes), episodesAway);

        public int ActivitiesTurnedAway => Math.Min(Volatile.Read(ref _activities), activitiesAway);

        public bool HasOrchestrator(string name) => inner.HasOrchestrator(name);

        public bool HasActivity(string name) => inner.HasActivity(name);

        public Task<OrchestratorResponse> RunOrchestratorAsync(string name, OrchestratorRequest request, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _episodes) <= episodesAway
                ? throw new RemoteWorkerUnavailableException("The worker exited.")
                : inner.RunOrchestratorAsync(name, request, cancellationToken);

        public Task<RemoteActivityResult> RunActivityAsync(RemoteActivityRequest request, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _activities) <= activitiesAway
                ? throw new RemoteWorkerUnavailableException("The worker exited.")
                : inner.RunActivityAsync(request, cancellationToken);
    }
}
