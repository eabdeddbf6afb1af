using Workflows.Durable.History;
using Workflows.Durable.Storage;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// The storage-provider contract, tested through the provider API directly. A backend's test project derives
/// from this class and supplies a fresh, empty provider per test.
/// </summary>
public abstract class StorageProviderConformanceTests : IAsyncLifetime
{
    private static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    protected IStorageProvider Provider { get; private set; } = null!;

    /// <summary>A new, empty task hub.</summary>
    protected abstract Task<IStorageProvider> CreateProviderAsync();

    /// <summary>Releases what <see cref="CreateProviderAsync"/> made.</summary>
    protected virtual Task DisposeProviderAsync(IStorageProvider provider) => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        Provider = await CreateProviderAsync();
        await Provider.CreateIfNotExistsAsync();
    }

    public Task DisposeAsync() => DisposeProviderAsync(Provider);

    [Fact]
    public async Task CreateInstance_ThenLockNext_DeliversExecutionStarted()
    {
        var id = NewId();
        await CreateAsync(id, "Hello", "\"input\"");

        var metadata = await Provider.GetInstanceAsync(id, fetchInputsAndOutputs: true);
        Assert.NotNull(metadata);
        Assert.Equal(OrchestrationRuntimeStatus.Pending, metadata.RuntimeStatus);
        Assert.Equal("Hello", metadata.Name);
        Assert.Equal("\"input\"", metadata.SerializedInput);

        var workItem = await LockAsync();
        Assert.Equal(id, workItem.InstanceId);
        var started = Assert.IsType<ExecutionStarted>(Assert.Single(workItem.Messages).Event);
        Assert.Equal("Hello", started.Name);
        Assert.Empty(await Provider.LoadHistoryAsync(workItem));
    }

    [Fact]
    public async Task CreateInstance_WhenUnfinished_ThrowsAlreadyExists()
    {
        var id = NewId();
        await CreateAsync(id, "Hello");
        var conflict = await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(() => CreateAsync(id, "Hello"));
        Assert.Equal(id, conflict.InstanceId);
    }

    [Fact]
    public async Task CreateInstance_WhenFinished_ReplacesIt()
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var workItem = await LockAsync();
        await Provider.CompleteOrchestrationWorkItemAsync(workItem, Finish(executionId, workItem, "\"done\""));

        var newExecution = await CreateAsync(id, "Hello", "\"again\"");

        var metadata = await Provider.GetInstanceAsync(id, true);
        Assert.Equal(OrchestrationRuntimeStatus.Pending, metadata!.RuntimeStatus);
        Assert.Equal(newExecution, metadata.ExecutionId);
        Assert.Empty(await Provider.GetHistoryAsync(id));
        var next = await LockAsync();
        Assert.Equal("\"again\"", Assert.IsType<ExecutionStarted>(Assert.Single(next.Messages).Event).Input);
    }

    [Fact]
    public async Task Complete_AppendsHistory_UpdatesState_AndChangesETag()
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var workItem = await LockAsync();
        var started = workItem.Messages[0].Event;
        HistoryEvent[] events = [new OrchestratorStarted(T0), started, new TaskScheduled(T0, 0, "Act", "1"), new OrchestratorCompleted(T0)];

        var etag = await Provider.CompleteOrchestrationWorkItemAsync(workItem, new OrchestrationCommit
        {
            ExecutionId = executionId,
            NewEvents = events,
            State = Running("\"working\""),
        });

        Assert.NotEqual(workItem.HistoryETag, etag);
        var history = await Provider.GetHistoryAsync(id);
        Assert.Equal(events, history);
        var metadata = await Provider.GetInstanceAsync(id, true);
        Assert.Equal(OrchestrationRuntimeStatus.Running, metadata!.RuntimeStatus);
        Assert.Equal("\"working\"", metadata.SerializedCustomStatus);
    }

    [Fact]
    public async Task Commit_ActivityMessage_RunsAndDeliversResultToInstance()
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var workItem = await LockAsync();
        var scheduled = new TaskScheduled(T0, 0, "Act", "21");
        var etag = await Provider.CompleteOrchestrationWorkItemAsync(workItem, new OrchestrationCommit
        {
            ExecutionId = executionId,
            NewEvents = [new OrchestratorStarted(T0), workItem.Messages[0].Event, scheduled, new OrchestratorCompleted(T0)],
            State = Running(),
            ActivityMessages = [new ActivityMessage(id, executionId, scheduled)],
        });

        var activity = await Provider.LockNextActivityWorkItemAsync(Timeout());
        Assert.Equal(scheduled, activity.Message.Event);
        Assert.Equal($"{id}/{executionId}/0", activity.Message.IdempotencyKey);
        await Provider.CompleteActivityWorkItemAsync(activity, new OrchestrationMessage(id, executionId, new TaskCompleted(T0, 0, "42")));

        var next = await LockAsync();
        Assert.Equal(etag, next.HistoryETag);
        Assert.Equal(new TaskCompleted(T0, 0, "42"), Assert.Single(next.Messages).Event);
        Assert.Equal(4, (await Provider.LoadHistoryAsync(next)).Count);
    }

    [Fact]
    public async Task LockedInstance_IsNotHandedOutAgain_UntilCompleted()
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var first = await LockAsync();
        await Provider.SendMessageAsync(new OrchestrationMessage(id, null, new EventRaised(T0, "Go", "1")));

        using (var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Provider.LockNextOrchestrationWorkItemAsync(shortWait.Token));
        }

        await Provider.CompleteOrchestrationWorkItemAsync(first, new OrchestrationCommit
        {
            ExecutionId = executionId,
            NewEvents = [new OrchestratorStarted(T0), first.Messages[0].Event, new OrchestratorCompleted(T0)],
            State = Running(),
        });
        var second = await LockAsync();
        Assert.Equal("Go", Assert.IsType<EventRaised>(Assert.Single(second.Messages).Event).Name);
    }

    [Fact]
    public async Task Abandon_RedeliversSameMessages_WithHigherDequeueCount()
    {
        var id = NewId();
        await CreateAsync(id, "Hello");
        var first = await LockAsync();
        await Provider.AbandonOrchestrationWorkItemAsync(first);

        var again = await LockAsync();
        Assert.Equal(first.Messages.Select(m => m.Event), again.Messages.Select(m => m.Event));
        Assert.True(again.DequeueCount > first.DequeueCount);
    }

    [Fact]
    public async Task Complete_AfterLockWasReleased_ThrowsLockLost_AndAppliesNothing()
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var stale = await LockAsync();
        await Provider.AbandonOrchestrationWorkItemAsync(stale);
        var current = await LockAsync();

        await Assert.ThrowsAsync<WorkItemLockLostException>(() => Provider.CompleteOrchestrationWorkItemAsync(stale, Finish(executionId, stale, "\"stale\"")));

        Assert.Empty(await Provider.GetHistoryAsync(id));
        await Provider.CompleteOrchestrationWorkItemAsync(current, Finish(executionId, current, "\"fresh\""));
        Assert.Equal("\"fresh\"", (await Provider.GetInstanceAsync(id, true))!.SerializedOutput);
    }

    [Fact]
    public async Task CommitThatFailsBeforeItsCommitPoint_HandsOutNoActivity()
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var stale = await LockAsync();
        await Provider.AbandonOrchestrationWorkItemAsync(stale);
        var current = await LockAsync();
        var scheduled = new TaskScheduled(T0, 0, "Act", "1");
        var commit = new OrchestrationCommit
        {
            ExecutionId = executionId,
            NewEvents = [new OrchestratorStarted(T0), stale.Messages[0].Event, scheduled, new OrchestratorCompleted(T0)],
            State = Running(),
            ActivityMessages = [new ActivityMessage(id, executionId, scheduled)],
        };

        // Wherever the provider places activities, a call runs only once the commit that scheduled it is committed.
        await Assert.ThrowsAsync<WorkItemLockLostException>(() => Provider.CompleteOrchestrationWorkItemAsync(stale, commit));
        using (var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Provider.LockNextActivityWorkItemAsync(quiet.Token));
        }

        await Provider.CompleteOrchestrationWorkItemAsync(current, commit);
        var activity = await Provider.LockNextActivityWorkItemAsync(Timeout());
        Assert.Equal(scheduled, activity.Message.Event);
        Assert.Contains(scheduled, await Provider.GetHistoryAsync(id));
    }

    [Fact]
    public async Task StateUpdateWithoutFailureOrOutput_ClearsTheOldOnes()
    {
        // As after a rewind: the instance was Failed with an output and custom status, and runs again without them.
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var first = await LockAsync();
        await Provider.CompleteOrchestrationWorkItemAsync(first, new OrchestrationCommit
        {
            ExecutionId = executionId,
            NewEvents = [new OrchestratorStarted(T0), first.Messages[0].Event, new OrchestratorCompleted(T0)],
            State = new InstanceStateUpdate("Hello", OrchestrationRuntimeStatus.Failed, null, "\"out\"", "\"status\"", new FailureDetails("IOException", "share offline"), null),
        });
        await Provider.SendMessageAsync(new OrchestrationMessage(id, null, new EventRaised(T0, "Again", null)));
        var second = await LockAsync();
        await Provider.CompleteOrchestrationWorkItemAsync(second, new OrchestrationCommit
        {
            ExecutionId = executionId,
            NewEvents = [new OrchestratorStarted(T0), second.Messages[0].Event, new OrchestratorCompleted(T0)],
            State = Running(),
        });

        var state = await Provider.GetInstanceAsync(id, true);
        Assert.Equal(OrchestrationRuntimeStatus.Running, state!.RuntimeStatus);
        Assert.Null(state.FailureDetails);
        Assert.Null(state.SerializedOutput);
        Assert.Null(state.SerializedCustomStatus);
    }

    [Fact]
    public async Task ActivityAbandon_RedeliversRequest()
    {
        var (id, executionId) = await StartWithActivityAsync("Act");
        var first = await Provider.LockNextActivityWorkItemAsync(Timeout());
        await Provider.AbandonActivityWorkItemAsync(first);

        var again = await Provider.LockNextActivityWorkItemAsync(Timeout());
        Assert.Equal(first.Message, again.Message);
        Assert.True(again.DequeueCount > first.DequeueCount);
        await Assert.ThrowsAsync<WorkItemLockLostException>(() =>
            Provider.CompleteActivityWorkItemAsync(first, new OrchestrationMessage(id, executionId, new TaskCompleted(T0, 0, "1"))));
        await Provider.CompleteActivityWorkItemAsync(again, new OrchestrationMessage(id, executionId, new TaskCompleted(T0, 0, "1")));
    }

    [Fact]
    public async Task SubOrchestrationStartMessage_CreatesChildInstance()
    {
        var parentId = NewId();
        var parentExecution = await CreateAsync(parentId, "Parent");
        var workItem = await LockAsync();
        var childId = parentId + ":0000";
        var childStart = new ExecutionStarted(T0, "Child", childId, "child-exec", "5", new ParentInstanceInfo(parentId, parentExecution, 0, "Parent"));
        await Provider.CompleteOrchestrationWorkItemAsync(workItem, new OrchestrationCommit
        {
            ExecutionId = parentExecution,
            NewEvents = [new OrchestratorStarted(T0), workItem.Messages[0].Event, new SubOrchestrationInstanceCreated(T0, 0, "Child", childId, "5"), new OrchestratorCompleted(T0)],
            State = Running(),
            OrchestrationMessages = [new OrchestrationMessage(childId, null, childStart)],
        });

        var child = await Provider.GetInstanceAsync(childId, true);
        Assert.NotNull(child);
        Assert.Equal("Child", child.Name);
        Assert.Equal(parentId, child.ParentInstanceId);
        var childItem = await LockAsync();
        Assert.Equal(childId, childItem.InstanceId);
    }

    [Fact]
    public async Task MessageWithPastVisibleTime_IsDelivered()
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var workItem = await LockAsync();
        await Provider.CompleteOrchestrationWorkItemAsync(workItem, new OrchestrationCommit
        {
            ExecutionId = executionId,
            NewEvents = [new OrchestratorStarted(T0), workItem.Messages[0].Event, new TimerCreated(T0, 0, T0), new OrchestratorCompleted(T0)],
            State = Running(),
            OrchestrationMessages = [new OrchestrationMessage(id, executionId, new TimerFired(T0, 0, T0), T0)],
        });

        var next = await LockAsync();
        Assert.Equal(new TimerFired(T0, 0, T0), Assert.Single(next.Messages).Event);
    }

    [Fact]
    public async Task MessageToUnknownInstance_IsDropped()
    {
        await Provider.SendMessageAsync(new OrchestrationMessage(NewId(), null, new EventRaised(T0, "Nobody", null)));
        using var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Provider.LockNextOrchestrationWorkItemAsync(shortWait.Token));
        Assert.Null(await Provider.GetInstanceAsync("unknown-" + NewId(), false));
    }

    [Fact]
    public async Task History_RoundTripsEveryEventType()
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var workItem = await LockAsync();
        var failure = new FailureDetails("System.InvalidOperationException", "boom", "at X", new FailureDetails("System.Exception", "inner"), IsNonRetriable: true);
        HistoryEvent[] events =
        [
            new OrchestratorStarted(T0),
            workItem.Messages[0].Event,
            new TaskScheduled(T0, 0, "A", "{\"x\":1}"),
            new TaskCompleted(T0, 0, "2"),
            new TaskFailed(T0, 1, failure),
            new TimerCreated(T0, 2, T0.AddMinutes(5)),
            new TimerFired(T0, 2, T0.AddMinutes(5)),
            new SubOrchestrationInstanceCreated(T0, 3, "Child", "c1", null),
            new SubOrchestrationInstanceCompleted(T0, 3, "\"ok\""),
            new SubOrchestrationInstanceFailed(T0, 4, failure),
            new EventRaised(T0, "Approve", "true"),
            new EventSent(T0, 5, "other", "Ping", null),
            new ExecutionSuspended(T0, "pause"),
            new ExecutionResumed(T0, "go"),
            new ExecutionRewound(T0, "retry"),
            new ExecutionTerminated(T0, "stop", Recursive: true),
            new ExecutionCompleted(T0, OrchestrationRuntimeStatus.Failed, null, failure),
            new OrchestratorCompleted(T0),
        ];
        await Provider.CompleteOrchestrationWorkItemAsync(workItem, new OrchestrationCommit
        {
            ExecutionId = executionId,
            NewEvents = events,
            State = new InstanceStateUpdate("Hello", OrchestrationRuntimeStatus.Failed, null, null, null, failure, null),
        });

        Assert.Equal(events, await Provider.GetHistoryAsync(id));
        Assert.Equal(failure, (await Provider.GetInstanceAsync(id, false))!.FailureDetails);
    }

    [Fact]
    public async Task ReplaceHistory_ReplacesInsteadOfAppending()
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var workItem = await LockAsync();
        await Provider.CompleteOrchestrationWorkItemAsync(workItem, new OrchestrationCommit
        {
            ExecutionId = executionId,
            NewEvents = [new OrchestratorStarted(T0), workItem.Messages[0].Event, new OrchestratorCompleted(T0)],
            State = Running(),
            OrchestrationMessages = [new OrchestrationMessage(id, "next", new EventRaised(T0, "Tick", null))],
        });
        var second = await LockAsync();
        await Provider.CompleteOrchestrationWorkItemAsync(second, new OrchestrationCommit
        {
            ExecutionId = "next",
            ReplaceHistory = true,
            NewEvents = [],
            State = Running(),
        });

        Assert.Empty(await Provider.GetHistoryAsync(id));
        Assert.Equal("next", (await Provider.GetInstanceAsync(id, false))!.ExecutionId);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("wf1.")]
    [InlineData("wf1.!!not base64!!")]
    [InlineData("someone else's partition key")]
    public async Task Query_WithTokenItDidNotIssue_ThrowsInvalidContinuationToken(string token)
    {
        await CreateAsync("t" + NewId(), "Any");

        await Assert.ThrowsAsync<InvalidContinuationTokenException>(() =>
            Provider.QueryInstancesAsync(new OrchestrationQuery { PageSize = 1, ContinuationToken = token }));
    }

    [Fact]
    public async Task Query_FiltersByStatusAndPrefix_AndPagesWithContinuationToken()
    {
        var prefix = "q" + NewId()[..8] + "-";
        for (var i = 0; i < 5; i++)
        {
            await CreateAsync($"{prefix}{i}", i % 2 == 0 ? "Even" : "Odd");
        }

        await CreateAsync("other-" + NewId(), "Even");

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await Provider.QueryInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, PageSize = 2, ContinuationToken = token });
            seen.AddRange(page.Instances.Select(i => i.InstanceId));
            Assert.True(page.Instances.Count <= 2);
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null && pages < 10);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"{prefix}{i}").Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        var evens = await Provider.QueryInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, NamePrefix = "ev" });
        Assert.Equal(3, evens.Instances.Count);
        var pending = await Provider.QueryInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, Statuses = [OrchestrationRuntimeStatus.Pending] });
        Assert.Equal(5, pending.Instances.Count);
        var completed = await Provider.QueryInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, Statuses = [OrchestrationRuntimeStatus.Completed] });
        Assert.Empty(completed.Instances);
        var future = await Provider.QueryInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, CreatedFrom = DateTimeOffset.UtcNow.AddDays(1) });
        Assert.Empty(future.Instances);
    }

    [Fact]
    public async Task Purge_RemovesOnlyFinishedInstances()
    {
        var running = NewId();
        await CreateAsync(running, "Hello");
        Assert.False(await Provider.PurgeInstanceAsync(running));

        var workItem = await LockAsync();
        var metadata = await Provider.GetInstanceAsync(running, false);
        await Provider.CompleteOrchestrationWorkItemAsync(workItem, Finish(metadata!.ExecutionId, workItem, "1"));
        Assert.True(await Provider.PurgeInstanceAsync(running));
        Assert.Null(await Provider.GetInstanceAsync(running, false));
        Assert.Empty(await Provider.GetHistoryAsync(running));
        Assert.False(await Provider.PurgeInstanceAsync(running));
    }

    [Fact]
    public async Task PurgeByFilter_RemovesMatchingFinishedInstances()
    {
        var finished = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var id = NewId();
            var executionId = await CreateAsync(id, "Hello");
            var workItem = await LockAsync();
            await Provider.CompleteOrchestrationWorkItemAsync(workItem, Finish(executionId, workItem, "1"));
            finished.Add(id);
        }

        var running = NewId();
        await CreateAsync(running, "Hello");

        var purged = await Provider.PurgeInstancesAsync(new PurgeInstancesFilter { Statuses = [OrchestrationRuntimeStatus.Completed] });

        Assert.True(purged >= 3);
        foreach (var id in finished)
        {
            Assert.Null(await Provider.GetInstanceAsync(id, false));
        }

        Assert.NotNull(await Provider.GetInstanceAsync(running, false));
    }

    [Fact]
    public async Task WaitForInstance_ReturnsOnceConditionHolds()
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var wait = Provider.WaitForInstanceAsync(id, m => m.IsCompleted, true, Timeout());
        Assert.False(wait.IsCompleted);

        var workItem = await LockAsync();
        await Provider.CompleteOrchestrationWorkItemAsync(workItem, Finish(executionId, workItem, "\"out\""));

        var done = await wait;
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("\"out\"", done.SerializedOutput);
    }

    protected static string NewId() => Guid.NewGuid().ToString("N");

    protected static CancellationToken Timeout() => InProcessWorker.Timeout();

    private static InstanceStateUpdate Running(string? customStatus = null) =>
        new("Hello", OrchestrationRuntimeStatus.Running, null, null, customStatus, null, null);

    private static OrchestrationCommit Finish(string executionId, OrchestrationWorkItem workItem, string output) => new()
    {
        ExecutionId = executionId,
        NewEvents =
        [
            new OrchestratorStarted(T0),
            .. workItem.Messages.Select(m => m.Event),
            new ExecutionCompleted(T0, OrchestrationRuntimeStatus.Completed, output),
            new OrchestratorCompleted(T0),
        ],
        State = new InstanceStateUpdate("Hello", OrchestrationRuntimeStatus.Completed, null, output, null, null, null),
    };

    private async Task<string> CreateAsync(string id, string name, string? input = null)
    {
        var executionId = NewId();
        await Provider.CreateInstanceAsync(new OrchestrationMessage(id, executionId, new ExecutionStarted(T0, name, id, executionId, input)));
        return executionId;
    }

    private Task<OrchestrationWorkItem> LockAsync() => Provider.LockNextOrchestrationWorkItemAsync(Timeout());

    private async Task<(string Id, string ExecutionId)> StartWithActivityAsync(string activityName)
    {
        var id = NewId();
        var executionId = await CreateAsync(id, "Hello");
        var workItem = await LockAsync();
        var scheduled = new TaskScheduled(T0, 0, activityName, null);
        await Provider.CompleteOrchestrationWorkItemAsync(workItem, new OrchestrationCommit
        {
            ExecutionId = executionId,
            NewEvents = [new OrchestratorStarted(T0), workItem.Messages[0].Event, scheduled, new OrchestratorCompleted(T0)],
            State = Running(),
            ActivityMessages = [new ActivityMessage(id, executionId, scheduled)],
        });
        return (id, executionId);
    }
}
