using Azure.Storage.Blobs.Specialized;
using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.Extensions.Time.Testing;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.Testing;
using Xunit;

namespace Workflows.DurableTask.Tests.TaskHub;

/// <summary>
/// Extended sessions of <see cref="TaskHubOrchestrationService"/>, driven through DurableTask.Core's interfaces as
/// DTFx's dispatcher drives them, on a fake clock: the session's idle timeout and the lease rounds move only when the
/// test advances it.
/// </summary>
public sealed class ExtendedSessionTests : IClassFixture<AzuriteFixture>
{
    private static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(10);

    private readonly AzuriteFixture _azurite;

    public ExtendedSessionTests(AzuriteFixture azurite) => _azurite = azurite;

    [Fact]
    public async Task Messages_arriving_during_a_session_go_to_it_under_the_same_lock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var service = NewService(clock);
        await service.StartAsync();
        var instance = await StartInstanceAsync(service);

        var workItem = await LockAsync(service);
        Assert.Equal(instance.InstanceId, workItem.InstanceId);
        Assert.NotNull(workItem.Session);
        await CommitAsync(service, workItem);

        var fetch = workItem.Session.FetchNewOrchestrationMessagesAsync(workItem);
        await RaiseAsync(service, instance, "first");
        var messages = await fetch.WaitAsync(SafetyTimeout);

        Assert.NotNull(messages);
        var raised = Assert.IsType<EventRaisedEvent>(Assert.Single(messages).Event);
        Assert.Equal("first", raised.Name);

        // The second episode commits through the same work item: its history is appended, not replaced.
        workItem.NewMessages = messages;
        workItem.OrchestrationRuntimeState.NewEvents.Clear();
        await CommitAsync(service, workItem);
        await service.ReleaseTaskOrchestrationWorkItemAsync(workItem);

        var history = await service.GetOrchestrationHistoryAsync(instance.InstanceId, instance.ExecutionId);
        Assert.Contains("ExecutionStarted", history, StringComparison.Ordinal);
        Assert.Contains("\"first\"", history, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_ends_after_its_idle_timeout_and_the_instance_can_be_locked_again()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var service = NewService(clock);
        await service.StartAsync();
        var instance = await StartInstanceAsync(service);

        var workItem = await LockAsync(service);
        await CommitAsync(service, workItem);

        var fetch = workItem.Session.FetchNewOrchestrationMessagesAsync(workItem);
        clock.Advance(IdleTimeout);
        Assert.Null(await fetch.WaitAsync(SafetyTimeout));
        await service.ReleaseTaskOrchestrationWorkItemAsync(workItem);

        await RaiseAsync(service, instance, "after");
        var next = await LockAsync(service);
        Assert.NotSame(workItem, next);
        Assert.Equal(instance.InstanceId, next.InstanceId);
        var raised = Assert.IsType<EventRaisedEvent>(Assert.Single(next.NewMessages).Event);
        Assert.Equal("after", raised.Name);
        await service.AbandonTaskOrchestrationWorkItemAsync(next);
    }

    [Fact]
    public async Task Ending_sessions_ahead_of_a_stop_ends_an_idle_session_and_the_instance_can_be_locked_again()
    {
        // The clock never moves: only EndSessions can end the wait.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var service = NewService(clock);
        await service.StartAsync();
        var instance = await StartInstanceAsync(service);
        var workItem = await LockAsync(service);
        await CommitAsync(service, workItem);
        var fetch = workItem.Session.FetchNewOrchestrationMessagesAsync(workItem);

        service.EndSessions();

        Assert.Null(await fetch.WaitAsync(SafetyTimeout));
        await service.ReleaseTaskOrchestrationWorkItemAsync(workItem);
        await RaiseAsync(service, instance, "after");
        var next = await LockAsync(service);
        Assert.Equal(instance.InstanceId, next.InstanceId);

        // Until the backend starts again, a new session does not wait either.
        await CommitAsync(service, next);
        Assert.Null(await next.Session.FetchNewOrchestrationMessagesAsync(next).WaitAsync(SafetyTimeout));
        await service.ReleaseTaskOrchestrationWorkItemAsync(next);
    }

    [Fact]
    public async Task A_second_outcome_of_a_call_is_dropped_whether_it_comes_in_one_batch_or_after_the_first_is_in_history()
    {
        // As when a commit interrupted after sending its messages is retried and sends them again.
        await using var service = NewService(new FakeTimeProvider(DateTimeOffset.UtcNow));
        var instance = await StartAndEndTheFirstSessionAsync(service);

        await CompleteChildAsync(service, instance);
        await CompleteChildAsync(service, instance);
        var batch = await LockAsync(service);
        var completed = Assert.IsType<SubOrchestrationInstanceCompletedEvent>(Assert.Single(batch.NewMessages).Event);
        Assert.Equal(0, completed.TaskScheduledId);
        await CommitAsync(service, batch);

        // The provider may have locked the instance before the second outcome was visible: then the session is given
        // it next, dropped, as an episode without messages.
        var rest = await batch.Session.FetchNewOrchestrationMessagesAsync(batch).WaitAsync(SafetyTimeout);
        if (rest is not null)
        {
            Assert.Empty(rest);
            batch.NewMessages = rest;
            batch.OrchestrationRuntimeState.NewEvents.Clear();
            await CommitAsync(service, batch);
            rest = await batch.Session.FetchNewOrchestrationMessagesAsync(batch).WaitAsync(SafetyTimeout);
        }

        Assert.Null(rest);
        await service.ReleaseTaskOrchestrationWorkItemAsync(batch);

        await CompleteChildAsync(service, instance);
        await RaiseAsync(service, instance, "later");
        var after = await LockAsync(service);
        while (after.NewMessages.Count == 0)
        {
            // Only outcomes that are dropped had reached the provider when it locked the instance: an empty episode.
            await CommitAsync(service, after);
            await service.ReleaseTaskOrchestrationWorkItemAsync(after);
            after = await LockAsync(service);
        }

        Assert.IsType<EventRaisedEvent>(Assert.Single(after.NewMessages).Event);
        await service.AbandonTaskOrchestrationWorkItemAsync(after);
    }

    [Fact]
    public async Task A_second_outcome_arriving_during_the_session_is_given_as_an_episode_without_messages()
    {
        await using var service = NewService(new FakeTimeProvider(DateTimeOffset.UtcNow));
        var instance = await StartAndEndTheFirstSessionAsync(service);
        await service.StartAsync();

        await CompleteChildAsync(service, instance);
        var answered = await LockAsync(service);
        Assert.IsType<SubOrchestrationInstanceCompletedEvent>(Assert.Single(answered.NewMessages).Event);
        await CommitAsync(service, answered);

        var fetch = answered.Session.FetchNewOrchestrationMessagesAsync(answered);
        await CompleteChildAsync(service, instance);
        var duplicate = await fetch.WaitAsync(SafetyTimeout);
        Assert.NotNull(duplicate);
        Assert.Empty(duplicate);

        answered.NewMessages = duplicate;
        answered.OrchestrationRuntimeState.NewEvents.Clear();
        await CommitAsync(service, answered);
        service.EndSessions();
        Assert.Null(await answered.Session.FetchNewOrchestrationMessagesAsync(answered).WaitAsync(SafetyTimeout));
        await service.ReleaseTaskOrchestrationWorkItemAsync(answered);

        var history = await service.GetOrchestrationHistoryAsync(instance.InstanceId, instance.ExecutionId);
        var events = System.Text.Json.JsonDocument.Parse(history).RootElement.EnumerateArray()
            .Count(e => e.GetProperty("EventType").GetInt32() == (int)EventType.SubOrchestrationInstanceCompleted);
        Assert.Equal(1, events);
    }

    [Fact]
    public async Task A_lost_partition_ends_the_session()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var storage = StorageOptions();
        await using var service = NewService(clock, storage);
        await service.StartAsync();
        var instance = await StartInstanceAsync(service);

        var workItem = await LockAsync(service);
        await CommitAsync(service, workItem);
        var fetch = workItem.Session.FetchNewOrchestrationMessagesAsync(workItem);

        // Another worker broke the partition's lease: the next lease round finds it lost.
        var partition = service.Provider.Clients.Names.PartitionOf(instance.InstanceId);
        await service.Provider.Clients.Leases.GetBlobClient($"control-{partition:D2}").GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);
        clock.Advance(storage.LeaseRenewInterval);

        Assert.Null(await fetch.WaitAsync(SafetyTimeout));
        Assert.DoesNotContain(partition, service.Provider.OwnedPartitions);
        await service.ReleaseTaskOrchestrationWorkItemAsync(workItem);
    }

    [Fact]
    public async Task A_wait_for_completion_in_the_worker_process_ends_at_the_commit_without_polling()
    {
        // The clock never moves: a wait that relied on its polling delay would never see the outcome.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var service = NewService(clock);
        await service.StartAsync();
        var instance = await StartInstanceAsync(service);
        var wait = service.WaitForOrchestrationAsync(instance.InstanceId, null!, Timeout.InfiniteTimeSpan, CancellationToken.None);

        var workItem = await LockAsync(service);
        await CommitAsync(service, workItem, complete: true);
        await service.ReleaseTaskOrchestrationWorkItemAsync(workItem);

        var done = await wait.WaitAsync(SafetyTimeout);
        Assert.Equal(OrchestrationStatus.Completed, done.OrchestrationStatus);
    }

    private AzureStorageOptions StorageOptions() => new()
    {
        ConnectionString = _azurite.ConnectionString,
        TaskHubName = "sessions" + Guid.NewGuid().ToString("N")[..12],
        PartitionCount = 2,
    };

    private TaskHubOrchestrationService NewService(TimeProvider clock, AzureStorageOptions? storage = null) =>
        new(storage ?? StorageOptions(), new TaskHubOrchestrationServiceOptions { ExtendedSessions = true, ExtendedSessionIdleTimeout = IdleTimeout }, clock);

    private static async Task<OrchestrationInstance> StartInstanceAsync(TaskHubOrchestrationService service)
    {
        var instance = new OrchestrationInstance { InstanceId = "session-" + Guid.NewGuid().ToString("N"), ExecutionId = Guid.NewGuid().ToString("N") };
        await service.CreateTaskOrchestrationAsync(new TaskMessage
        {
            Event = new ExecutionStartedEvent(-1, "null") { Name = "Waiter", Version = string.Empty, OrchestrationInstance = instance },
            OrchestrationInstance = instance,
        });
        return instance;
    }

    private static Task RaiseAsync(TaskHubOrchestrationService service, OrchestrationInstance instance, string name) =>
        service.SendTaskOrchestrationMessageAsync(new TaskMessage
        {
            Event = new EventRaisedEvent(-1, "\"" + name + "\"") { Name = name },
            OrchestrationInstance = new OrchestrationInstance { InstanceId = instance.InstanceId },
        });

    /// <summary>Starts an instance and runs its first episode in a session that <see cref="TaskHubOrchestrationService.EndSessions"/> ends: the instance is unlocked, waiting for messages.</summary>
    private static async Task<OrchestrationInstance> StartAndEndTheFirstSessionAsync(TaskHubOrchestrationService service)
    {
        await service.StartAsync();
        var instance = await StartInstanceAsync(service);
        var first = await LockAsync(service);
        await CommitAsync(service, first);
        service.EndSessions();
        Assert.Null(await first.Session.FetchNewOrchestrationMessagesAsync(first).WaitAsync(SafetyTimeout));
        await service.ReleaseTaskOrchestrationWorkItemAsync(first);
        return instance;
    }

    private static Task CompleteChildAsync(TaskHubOrchestrationService service, OrchestrationInstance instance) =>
        service.SendTaskOrchestrationMessageAsync(new TaskMessage
        {
            Event = new SubOrchestrationInstanceCompletedEvent(-1, 0, "\"child\""),
            OrchestrationInstance = new OrchestrationInstance { InstanceId = instance.InstanceId },
        });

    private static async Task<TaskOrchestrationWorkItem> LockAsync(TaskHubOrchestrationService service)
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        var workItem = await service.LockNextTaskOrchestrationWorkItemAsync(SafetyTimeout, timeout.Token);
        Assert.NotNull(workItem);
        return workItem;
    }

    /// <summary>An episode as DTFx's dispatcher commits it for an orchestration that waits for events: the new messages become history, the instance stays running.</summary>
    private static async Task CommitAsync(TaskHubOrchestrationService service, TaskOrchestrationWorkItem workItem, bool complete = false)
    {
        var runtimeState = workItem.OrchestrationRuntimeState;
        runtimeState.AddEvent(new OrchestratorStartedEvent(-1));
        foreach (var message in workItem.NewMessages)
        {
            runtimeState.AddEvent(message.Event);
        }

        if (complete)
        {
            runtimeState.AddEvent(new ExecutionCompletedEvent(-1, "\"done\"", OrchestrationStatus.Completed));
        }

        runtimeState.AddEvent(new OrchestratorCompletedEvent(-1));
        var state = new OrchestrationState
        {
            OrchestrationInstance = runtimeState.OrchestrationInstance,
            Name = runtimeState.Name,
            Version = runtimeState.Version,
            OrchestrationStatus = runtimeState.OrchestrationStatus,
            CreatedTime = runtimeState.CreatedTime,
            LastUpdatedTime = DateTime.UtcNow,
            Input = runtimeState.Input,
            Output = runtimeState.Output,
        };
        await service.CompleteTaskOrchestrationWorkItemAsync(workItem, runtimeState, [], [], [], null!, state);
    }
}
