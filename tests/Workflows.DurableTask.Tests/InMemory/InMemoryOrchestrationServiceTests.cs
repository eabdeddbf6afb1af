using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Time.Testing;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;
using Xunit;

namespace Workflows.DurableTask.Tests.InMemory;

/// <summary>The in-memory backend's own guarantees, driven through IOrchestrationService directly or on a fake clock.</summary>
public sealed class InMemoryOrchestrationServiceTests
{
    private static readonly TimeSpan Nothing = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task An_instance_runs_one_episode_at_a_time_and_messages_wait_for_the_next()
    {
        using var service = new InMemoryOrchestrationService();
        await service.StartAsync();
        await service.CreateTaskOrchestrationAsync(StartMessage("one"));

        TaskOrchestrationWorkItem first = await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None);
        await service.SendTaskOrchestrationMessageAsync(EventMessage("one", "ping"));
        TaskOrchestrationWorkItem? during = await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None);
        await CompleteRunningAsync(service, first);
        await service.ReleaseTaskOrchestrationWorkItemAsync(first);
        TaskOrchestrationWorkItem next = await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None);

        Assert.IsType<ExecutionStartedEvent>(Assert.Single(first.NewMessages).Event);
        Assert.Null(during);
        Assert.Equal("ping", Assert.IsType<EventRaisedEvent>(Assert.Single(next.NewMessages).Event).Name);
        Assert.Contains(next.OrchestrationRuntimeState.Events, e => e is ExecutionStartedEvent);
    }

    [Fact]
    public async Task A_stop_with_an_activity_running_loses_nothing_and_the_next_worker_finishes_the_instance_with_one_run()
    {
        using var service = new InMemoryOrchestrationService();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        var registry = new DurableTaskRegistry()
            .AddActivityFunc<int, int>("Slow", async (_, x) =>
            {
                Interlocked.Increment(ref runs);
                running.TrySetResult();
                await release.Task;
                return x * 2;
            })
            .AddOrchestratorFunc<int, int>("CallsSlow", async (context, x) => await context.CallActivityAsync<int>("Slow", x) + 1);
        var client = new OrchestrationServiceDurableTaskClient(service);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var first = new TaskHubWorkerHost(service, registry);
        await first.StartAsync();
        string id = await client.ScheduleNewOrchestrationInstanceAsync("CallsSlow", 20, timeout.Token);
        await running.Task.WaitAsync(timeout.Token);
        Task stopping = first.StopAsync(isForced: false);
        release.SetResult();
        await stopping.WaitAsync(timeout.Token);
        await first.DisposeAsync();

        await using var second = new TaskHubWorkerHost(service, registry);
        await second.StartAsync();
        OrchestrationMetadata done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(41, done.ReadOutputAs<int>());
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task Ending_sessions_ahead_of_a_stop_ends_an_idle_session_and_the_instance_can_be_locked_again()
    {
        // The idle timeout is far away: only EndSessions can end the wait.
        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { ExtendedSessionIdleTimeout = TimeSpan.FromMinutes(10) });
        await service.StartAsync();
        await service.CreateTaskOrchestrationAsync(StartMessage("drained"));
        TaskOrchestrationWorkItem first = await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None);
        await CompleteRunningAsync(service, first);
        Task<IList<TaskMessage>?> fetch = first.Session.FetchNewOrchestrationMessagesAsync(first);

        service.EndSessions();

        Assert.Null(await fetch.WaitAsync(TimeSpan.FromSeconds(30)));
        await service.ReleaseTaskOrchestrationWorkItemAsync(first);
        await service.SendTaskOrchestrationMessageAsync(EventMessage("drained", "after"));
        TaskOrchestrationWorkItem next = await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None);
        Assert.Equal("after", Assert.IsType<EventRaisedEvent>(Assert.Single(next.NewMessages).Event).Name);

        // Until the backend starts again, a new session does not wait either.
        await CompleteRunningAsync(service, next);
        Assert.Null(await next.Session.FetchNewOrchestrationMessagesAsync(next).WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task An_abandoned_episode_comes_back_with_its_messages_after_the_retry_delay()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { TimeProvider = clock, AbandonRetryDelay = TimeSpan.FromSeconds(10) });
        await service.StartAsync();
        await service.CreateTaskOrchestrationAsync(StartMessage("two"));

        TaskOrchestrationWorkItem first = await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None);
        await service.AbandonTaskOrchestrationWorkItemAsync(first);
        await service.ReleaseTaskOrchestrationWorkItemAsync(first);
        TaskOrchestrationWorkItem? early = await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(10));
        TaskOrchestrationWorkItem again = await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None);

        Assert.Null(early);
        Assert.IsType<ExecutionStartedEvent>(Assert.Single(again.NewMessages).Event);
    }

    [Fact]
    public async Task Activity_locks_renew_abandon_and_expire_and_a_lost_lock_drops_the_late_result()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions
        {
            TimeProvider = clock,
            ActivityLockTimeout = TimeSpan.FromMinutes(1),
            AbandonRetryDelay = TimeSpan.FromSeconds(5),
        });
        await service.StartAsync();
        await service.CreateTaskOrchestrationAsync(StartMessage("three"));
        TaskOrchestrationWorkItem episode = await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None);
        TaskMessage scheduled = new()
        {
            OrchestrationInstance = episode.NewMessages[0].OrchestrationInstance,
            Event = new TaskScheduledEvent(0) { Name = "Work" },
        };
        await CompleteRunningAsync(service, episode, outbound: [scheduled]);
        await service.ReleaseTaskOrchestrationWorkItemAsync(episode);

        TaskActivityWorkItem attempt1 = await service.LockNextTaskActivityWorkItem(Nothing, CancellationToken.None);
        DateTime lockedUntil = attempt1.LockedUntilUtc;
        clock.Advance(TimeSpan.FromSeconds(30));
        await service.RenewTaskActivityWorkItemLockAsync(attempt1);
        Assert.Equal(lockedUntil + TimeSpan.FromSeconds(30), attempt1.LockedUntilUtc);

        await service.AbandonTaskActivityWorkItemAsync(attempt1);
        Assert.Null(await service.LockNextTaskActivityWorkItem(Nothing, CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(5));
        TaskActivityWorkItem attempt2 = await service.LockNextTaskActivityWorkItem(Nothing, CancellationToken.None);
        Assert.Equal(2, attempt2.DeliveryAttempt);

        clock.Advance(TimeSpan.FromMinutes(1.5));
        TaskActivityWorkItem attempt3 = await service.LockNextTaskActivityWorkItem(Nothing, CancellationToken.None);
        Assert.Equal(3, attempt3.DeliveryAttempt);
        await Assert.ThrowsAsync<InvalidOperationException>(() => service.RenewTaskActivityWorkItemLockAsync(attempt2));

        await service.CompleteTaskActivityWorkItemAsync(attempt2, Completed("three", "late"));
        Assert.Null(await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None));
        await service.CompleteTaskActivityWorkItemAsync(attempt3, Completed("three", "on time"));
        TaskOrchestrationWorkItem result = await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None);
        Assert.Equal("on time", Assert.IsType<TaskCompletedEvent>(Assert.Single(result.NewMessages).Event).Result);
    }

    [Fact]
    public async Task A_terminate_before_a_scheduled_start_ends_the_instance_and_drops_the_start()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { TimeProvider = clock });
        await service.StartAsync();
        TaskMessage start = StartMessage("four");
        ((ExecutionStartedEvent)start.Event).ScheduledStartTime = clock.GetUtcNow().UtcDateTime.AddHours(1);
        await service.CreateTaskOrchestrationAsync(start);

        await service.ForceTerminateTaskOrchestrationAsync("four", "not needed");
        Assert.Null(await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None));
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Null(await service.LockNextTaskOrchestrationWorkItemAsync(Nothing, CancellationToken.None));

        OrchestrationState state = await service.GetOrchestrationStateAsync("four", start.OrchestrationInstance.ExecutionId);
        Assert.Equal(OrchestrationStatus.Terminated, state.OrchestrationStatus);
        Assert.Equal("not needed", state.Output);
    }

    [Fact]
    public async Task A_durable_timer_fires_when_the_clock_reaches_its_time_and_not_before()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { TimeProvider = clock });
        var registry = new DurableTaskRegistry();
        registry.AddOrchestratorFunc<object?, string>("Nap", async (context, _) =>
        {
            context.SetCustomStatus("sleeping");
            await context.CreateTimer(TimeSpan.FromDays(1), CancellationToken.None);
            return "rested";
        });
        await using var host = new TaskHubWorkerHost(service, registry);
        await host.StartAsync();
        var client = new OrchestrationServiceDurableTaskClient(service);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        string id = await client.ScheduleNewOrchestrationInstanceAsync("Nap", cancellation: timeout.Token);
        while ((await client.GetInstanceAsync(id, getInputsAndOutputs: true, timeout.Token))?.SerializedCustomStatus is null)
        {
            await Task.Delay(10, timeout.Token);
        }

        clock.Advance(TimeSpan.FromDays(1) - TimeSpan.FromMinutes(1));
        Assert.Equal(1, service.DelayedCount);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await client.GetInstanceAsync(id, cancellation: timeout.Token))?.RuntimeStatus);
        clock.Advance(TimeSpan.FromMinutes(2));
        OrchestrationMetadata done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);

        Assert.Equal(0, service.DelayedCount);
        Assert.Equal("rested", done.ReadOutputAs<string>());
        await host.StopAsync(isForced: true);
    }

    private static TaskMessage StartMessage(string instanceId)
    {
        var instance = new OrchestrationInstance { InstanceId = instanceId, ExecutionId = Guid.NewGuid().ToString("N") };
        return new TaskMessage { OrchestrationInstance = instance, Event = new ExecutionStartedEvent(-1, null) { Name = "Any", OrchestrationInstance = instance } };
    }

    private static TaskMessage EventMessage(string instanceId, string name) => new()
    {
        OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId },
        Event = new EventRaisedEvent(-1, null) { Name = name },
    };

    private static TaskMessage Completed(string instanceId, string result) => new()
    {
        OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId },
        Event = new TaskCompletedEvent(-1, 0, result),
    };

    /// <summary>Commits the work item's messages as one episode of a running instance (what the dispatcher would).</summary>
    private static Task CompleteRunningAsync(InMemoryOrchestrationService service, TaskOrchestrationWorkItem workItem, List<TaskMessage>? outbound = null)
    {
        OrchestrationRuntimeState runtime = workItem.OrchestrationRuntimeState;
        runtime.AddEvent(new OrchestratorStartedEvent(-1));
        foreach (TaskMessage message in workItem.NewMessages)
        {
            runtime.AddEvent(message.Event);
        }

        runtime.AddEvent(new OrchestratorCompletedEvent(-1));
        var state = new OrchestrationState
        {
            OrchestrationInstance = runtime.OrchestrationInstance,
            Name = runtime.Name,
            OrchestrationStatus = OrchestrationStatus.Running,
            CreatedTime = runtime.CreatedTime,
            LastUpdatedTime = DateTime.UtcNow,
        };
        return service.CompleteTaskOrchestrationWorkItemAsync(workItem, runtime, outbound ?? [], [], [], null!, state);
    }
}
