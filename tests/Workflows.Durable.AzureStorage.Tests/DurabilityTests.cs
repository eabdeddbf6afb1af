using Azure.Data.Tables;
using Microsoft.Extensions.Time.Testing;
using Workflows.Durable.History;
using Workflows.Durable.Storage;
using Workflows.Testing;
using Xunit;
using DtHistory = DurableTask.Core.History;
using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// The task hub's durability edges, driven through the provider contract the way a worker drives it: a commit that dies
/// or fails between two of its steps, a worker frozen past its lease, a message that kills every process that runs it.
/// The ContinueAsNew edges run the official SDK on DTFx's worker over our backend (<see cref="InProcessWorker"/>).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class DurabilityTests(AzuriteFixture azurite)
{
    private static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Visibility = TimeSpan.FromSeconds(1);

    /// <summary>The sentinel's window in the tests of a dead worker's late messages: a work item takes at most half of it.</summary>
    private const int Window = 8;

    /// <summary>Long enough that a dead worker's messages never show again on their own while a test runs: the test shows them.</summary>
    private static readonly TimeSpan DeadWorkerVisibility = TimeSpan.FromMinutes(2);

    /// <summary>How far the fake clock moves while a test waits for the receive loops (their longest back-off).</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    [Fact]
    public async Task CrashAfterCommitPoint_OfAnEpisodeOnInProcessResults_RowIsRepairedByTheNextOwner()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        var crashing = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false);
        var id = await StartWithOneInProcessActivityAsync(crashing);

        // The result comes back in-process: no queue message carries it, so nothing is ever redelivered for it.
        var episode = await crashing.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        Assert.IsType<TaskCompleted>(Assert.Single(episode.Messages).Event);
        crashing.Faults = new FaultAt(CommitStep.HistoryCommitted);
        await crashing.CompleteOrchestrationWorkItemAsync(episode, Completed(episode.Messages[0].Event));
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await crashing.GetInstanceAsync(id, false))!.RuntimeStatus);
        await crashing.DisposeAsync(); // the process dies right after the commit point

        // The next owner finds the instance's recovery marker; locking the instance compares row and sentinel.
        await using var next = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false);
        await WorkItems.PollWithoutWorkAsync(next, TimeSpan.FromSeconds(3));
        var row = await next.GetInstanceAsync(id, true);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, row!.RuntimeStatus);
        Assert.Equal("\"done\"", row.SerializedOutput);
        await next.Clients.DeleteAsync();
    }

    [Fact]
    public async Task RowWriteFailsAfterCommitPoint_EpisodeIsNotRunAgain_AndTheRowIsRepaired()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        await using var provider = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false);
        var id = await StartWithOneInProcessActivityAsync(provider);
        var episode = await provider.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        provider.Faults = new FaultAt(CommitStep.HistoryCommitted, times: 1);

        // The commit point passed, so the commit reports success: retrying the episode would record its result twice.
        await provider.CompleteOrchestrationWorkItemAsync(episode, Completed(episode.Messages[0].Event));

        await WorkItems.PollWithoutWorkAsync(provider, TimeSpan.FromSeconds(3));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await provider.GetInstanceAsync(id, false))!.RuntimeStatus);
        var history = await provider.GetHistoryAsync(id);
        Assert.Single(history.OfType<TaskCompleted>());
        Assert.Single(history.OfType<ExecutionCompleted>());
        await provider.Clients.DeleteAsync();
    }

    [Fact]
    public async Task RetriedParentEpisode_DoesNotRecreateAChildThatAlreadyCompleted()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        await using var provider = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false);
        await provider.CreateIfNotExistsAsync();
        var parent = "p-" + Guid.NewGuid().ToString("N");
        var child = "c-" + Guid.NewGuid().ToString("N");
        await provider.CreateInstanceAsync(new OrchestrationMessage(parent, "pe1", new ExecutionStarted(T0, "Parent", parent, "pe1", null)));

        // The parent's first attempt sends the child's start, then fails before its commit point.
        var first = await provider.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        provider.Faults = new FaultAt(CommitStep.MessagesSent, times: 1);
        await Assert.ThrowsAsync<InjectedFaultException>(() => provider.CompleteOrchestrationWorkItemAsync(first, ParentCallsChild(first, parent, child, "ce1")));
        await provider.AbandonOrchestrationWorkItemAsync(first);

        // The child runs to completion and reports to the parent meanwhile.
        var childEpisode = await LockAsync(provider, child);
        var childStart = Assert.IsType<ExecutionStarted>(Assert.Single(childEpisode.Messages).Event);
        await provider.CompleteOrchestrationWorkItemAsync(childEpisode, new OrchestrationCommit
        {
            ExecutionId = "ce1",
            NewEvents = [new OrchestratorStarted(T0), childStart, new ExecutionCompleted(T0, OrchestrationRuntimeStatus.Completed, "42"), new OrchestratorCompleted(T0)],
            State = new InstanceStateUpdate("Child", OrchestrationRuntimeStatus.Completed, null, "42", null, null, parent),
            OrchestrationMessages = [new OrchestrationMessage(parent, "pe1", new SubOrchestrationInstanceCompleted(T0, 0, "42"))],
        });

        // The retried parent episode sends the start again (a new execution id, as a re-run episode makes).
        var retry = await LockAsync(provider, parent);
        await provider.CompleteOrchestrationWorkItemAsync(retry, ParentCallsChild(retry, parent, child, "ce2"));

        var row = await provider.GetInstanceAsync(child, true);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, row!.RuntimeStatus);
        Assert.Equal("ce1", row.ExecutionId);
        Assert.Equal("42", row.SerializedOutput);
        var childHistory = await provider.GetHistoryAsync(child);
        Assert.Equal([nameof(OrchestratorStarted), nameof(ExecutionStarted), nameof(ExecutionCompleted), nameof(OrchestratorCompleted)], childHistory.Select(e => e.GetType().Name));
        Assert.DoesNotContain((await provider.Clients.ControlQueues[0].PeekMessagesAsync(32)).Value, m => m.Body.ToString().Contains("ce2", StringComparison.Ordinal));
        await provider.Clients.DeleteAsync();
    }

    [Fact]
    public async Task MessageThatKillsEveryProcess_IsPoisonedDurably_InHistoryAndRow()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        hub.MaxDequeueCount = 2;
        var id = Guid.NewGuid().ToString("N");
        await using (var client = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false))
        {
            await client.CreateIfNotExistsAsync();
            await client.CreateInstanceAsync(new OrchestrationMessage(id, "e1", new ExecutionStarted(T0, "Hello", id, "e1", null)));
        }

        // Two processes die holding the start message: nothing in memory survives them, only the queue's count.
        for (var process = 0; process < 2; process++)
        {
            var dying = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false);
            var item = await dying.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
            Assert.IsType<ExecutionStarted>(Assert.Single(item.Messages).Event);
            await dying.DisposeAsync();
        }

        await using var third = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false);
        await WorkItems.PollWithoutWorkAsync(third, TimeSpan.FromSeconds(4));
        var row = await third.GetInstanceAsync(id, false);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, row!.RuntimeStatus);
        Assert.Contains("could not be processed after 3 attempts", row.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        var history = await third.GetHistoryAsync(id);
        var completed = Assert.IsType<ExecutionCompleted>(history[^2]);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, completed.Status);
        Assert.Equal(row.FailureDetails, completed.FailureDetails);

        // A message that comes later reaches a finished history: whoever processes it drops it.
        await third.SendMessageAsync(new OrchestrationMessage(id, null, new EventRaised(T0, "late", null)));
        var late = await third.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        Assert.IsType<ExecutionCompleted>((await third.LoadHistoryAsync(late))[^2]);
        Assert.Single((await third.Clients.Poison.PeekMessagesAsync(32)).Value);
        await third.Clients.DeleteAsync();
    }

    [Fact]
    public async Task PoisonedSubOrchestration_SendsItsFailureToTheParent()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        hub.MaxDequeueCount = 2;
        var child = Guid.NewGuid().ToString("N");
        var parent = new ParentInstanceInfo("parent-" + child, "pe1", 3, "Parent");
        await using (var client = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false))
        {
            // The parent runs its first episode (it waits for its child) before the child starts.
            await client.CreateIfNotExistsAsync();
            var start = new ExecutionStarted(T0, "Parent", parent.InstanceId, "pe1", null);
            await client.CreateInstanceAsync(new OrchestrationMessage(parent.InstanceId, "pe1", start));
            var first = await client.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
            await client.CompleteOrchestrationWorkItemAsync(first, new OrchestrationCommit
            {
                ExecutionId = "pe1",
                NewEvents = [new OrchestratorStarted(T0), start, new SubOrchestrationInstanceCreated(T0, 3, "Child", child, null), new OrchestratorCompleted(T0)],
                State = new InstanceStateUpdate("Parent", OrchestrationRuntimeStatus.Running, null, null, null, null, null),
            });
        }

        await using (var creator = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false))
        {
            await creator.CreateInstanceAsync(new OrchestrationMessage(child, "ce1", new ExecutionStarted(T0, "Child", child, "ce1", null, parent)));
        }

        for (var process = 0; process < 2; process++)
        {
            var dying = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false);
            Assert.Equal(child, (await dying.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout())).InstanceId);
            await dying.DisposeAsync();
        }

        // The third worker fails the child as poisoned; the parent's call completes with the child's failure instead
        // of waiting for ever.
        await using var third = new AzureStorageProvider(hub, null, Visibility, usePartitionLeases: false);
        var item = await third.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        var row = await third.GetInstanceAsync(child, false);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, row!.RuntimeStatus);
        Assert.Equal(parent.InstanceId, item.InstanceId);
        var toParent = Assert.Single(item.Messages);
        Assert.Equal("pe1", toParent.ExecutionId);
        var failed = Assert.IsType<SubOrchestrationInstanceFailed>(toParent.Event);
        Assert.Equal(3, failed.TaskScheduledId);
        Assert.Equal(row.FailureDetails, failed.FailureDetails);
        await third.Clients.DeleteAsync();
    }

    [Fact]
    public async Task WorkerFrozenBeforeItsRowWrite_CannotPutTheRowBack()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        var frozen = new AzureStorageProvider(hub, null, null, usePartitionLeases: false);
        await using var other = new AzureStorageProvider(hub, null, null, usePartitionLeases: false);
        await frozen.CreateIfNotExistsAsync();
        var id = Guid.NewGuid().ToString("N");
        await frozen.CreateInstanceAsync(new OrchestrationMessage(id, "e1", new ExecutionStarted(T0, "Hello", id, "e1", null)));
        var first = await frozen.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        await frozen.StopControlPollingAsync();

        // The first worker commits its episode (Running) and freezes before it writes the row.
        using var thaw = new ManualResetEventSlim();
        var freeze = new FaultAt(CommitStep.HistoryCommitted, times: 1, thaw);
        frozen.Faults = freeze;
        var stalled = Task.Run(() => frozen.CompleteOrchestrationWorkItemAsync(first, new OrchestrationCommit
        {
            ExecutionId = "e1",
            NewEvents = [new OrchestratorStarted(T0), first.Messages[0].Event, new OrchestratorCompleted(T0)],
            State = new InstanceStateUpdate("Hello", OrchestrationRuntimeStatus.Running, null, null, null, null, null),
        }));
        Assert.True(freeze.Reached.Wait(TimeSpan.FromSeconds(30)));

        // Meanwhile another worker runs the next episode to completion.
        await other.SendMessageAsync(new OrchestrationMessage(id, null, new EventRaised(T0, "go", null)));
        var second = await other.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        await other.CompleteOrchestrationWorkItemAsync(second, Completed(second.Messages[0].Event));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await other.GetInstanceAsync(id, false))!.RuntimeStatus);

        thaw.Set();
        await stalled;
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await other.GetInstanceAsync(id, false))!.RuntimeStatus);
        await frozen.DisposeAsync();
        await other.Clients.DeleteAsync();
    }

    [Fact]
    public async Task CommitOfMoreMessagesThanTheSentinelRemembers_CrashBeforeDeletion_NoEventAppliedTwice()
    {
        // Worker A commits a batch and dies before deleting its messages; worker B then commits a full window of newer
        // messages, so that A's ids are no longer among the last the sentinel's window holds. Only then do A's
        // messages show again.
        var run = await DeadWorkerThenAFullWindowAsync();
        await using var next = run.Next;
        await run.Dead.ShowHeldMessagesAgainAsync();

        // B receives every copy and records none of them again: each is deleted instead.
        var queue = next.Clients.ControlQueues[0];
        await DriveAsync(run, async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0);
        var names = (await next.GetHistoryAsync(run.Id)).OfType<EventRaised>().Select(e => e.Name).ToList();
        Assert.Equal(Window / 2 + Window, names.Count);
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        await run.Dead.DisposeAsync();
        await next.Clients.DeleteAsync();
    }

    [Fact]
    public async Task DeadWorkersIdsBeyondTheWindow_AreDroppedOnceItsMessagesCannotComeBack()
    {
        var run = await DeadWorkerThenAFullWindowAsync();
        await using var next = run.Next;

        // While A's messages may still show again, its ids stay beyond the window.
        var kept = RememberedIds.Of(await SentinelAsync(next, run.Id));
        Assert.All(run.DeadIds, deadId => Assert.True(kept.Contains(deadId)));
        Assert.Equal(run.DeadIds.Count + Window, kept.Count);

        // Two visibility timeouts after A's last commit its messages have shown again or were deleted: B's next commit
        // drops A's ids, and the sentinel remembers a window again.
        run.Clock.Advance(2 * DeadWorkerVisibility);
        await next.SendMessageAsync(new OrchestrationMessage(run.Id, null, new EventRaised(T0, "late", null)));
        var item = await LockDrivingTheClockAsync(next, run.Clock);
        await next.CompleteOrchestrationWorkItemAsync(item, Running([.. item.Messages.Select(m => m.Event)]));

        var sentinel = await SentinelAsync(next, run.Id);
        var remembered = RememberedIds.Of(sentinel);
        Assert.Equal(Window, remembered.Count);
        Assert.DoesNotContain(remembered.All, run.DeadIds.Contains);
        Assert.Equal(next.Committer, sentinel.GetString("CommittedBy"));
        await run.Dead.DisposeAsync();
        await next.Clients.DeleteAsync();
    }

    [Fact]
    public async Task EventArrivingWhileAnEpisodeContinuesAsNew_ReachesTheNextGeneration()
    {
        using var inEpisode = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var worker = InProcessWorker.Create(azurite.NewHub(partitionCount: 1), registry => RegisterPhases(registry, () =>
        {
            inEpisode.Set();
            release.Wait(TimeSpan.FromMinutes(1));
        }));
        try
        {
            await worker.StartAsync();
            var id = await worker.Client.ScheduleNewOrchestrationInstanceAsync("Phases", 0);
            await WaitForCustomStatusAsync(worker, id, "\"phase 0\"");

            // "A" ends generation 0; while that episode runs, "B" for generation 1 arrives and waits in the instance's buffer.
            await worker.Client.RaiseEventAsync(id, "A", "go");
            Assert.True(inEpisode.Wait(TimeSpan.FromSeconds(30)));
            await worker.Client.RaiseEventAsync(id, "B", "early");
            await Eventually.UntilAsync(() => QueueLooksEmpty(worker.Provider), TimeSpan.FromSeconds(30));

            // Whatever the episode sends (the new generation's start among it) arrives late (a queue delivers when it
            // does): the next work item holds only "B", and the new generation is already in the committed history.
            await worker.Provider.StopControlPollingAsync();
            release.Set();

            var result = await worker.Client.WaitForInstanceCompletionAsync(id, true, InProcessWorker.Timeout());
            Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal("phase 1 got early", result.ReadOutputAs<string>());

            // Event by event, the current generation: its start, "B" once, its completion.
            var history = await worker.Client.GetOrchestrationHistoryAsync(id);
            Assert.Equal(
                ["ExecutionStartedEvent Phases(1)", "EventRaisedEvent B(\"early\")", "ExecutionCompletedEvent Completed \"phase 1 got early\""],
                Steps(history));
        }
        finally
        {
            release.Set();
            await worker.DisposeAsync();
            await worker.Provider.Clients.DeleteAsync();
        }
    }

    [Fact]
    public async Task ContinueAsNewEpisodeFailingBeforeItsCommitPoint_StartsTheNextGenerationOnce()
    {
        var worker = InProcessWorker.Create(azurite.NewHub(partitionCount: 1), registry => RegisterPhases(registry, () => { }));
        try
        {
            await worker.StartAsync();
            var id = await worker.Client.ScheduleNewOrchestrationInstanceAsync("Phases", 0);
            await WaitForCustomStatusAsync(worker, id, "\"phase 0\"");

            // The episode that continues as new fails after its messages (the new generation's start among them) went
            // out, and is run again.
            var fault = new FaultAt(CommitStep.MessagesSent, times: 1);
            worker.Provider.Faults = fault;
            await worker.Client.RaiseEventAsync(id, "A", "go");
            await WaitForCustomStatusAsync(worker, id, "\"phase 1\"");
            Assert.Equal(2, fault.Hits);
            var waiting = (await worker.Provider.GetInstanceAsync(id, false))!.ExecutionId;

            // The start sent by the failed attempt reaches a generation that already runs: it starts nothing again.
            await worker.Client.RaiseEventAsync(id, "B", "later");
            var result = await worker.Client.WaitForInstanceCompletionAsync(id, true, InProcessWorker.Timeout());
            Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal("phase 1 got later", result.ReadOutputAs<string>());
            var history = await worker.Client.GetOrchestrationHistoryAsync(id);
            Assert.Equal(
                ["ExecutionStartedEvent Phases(1)", "EventRaisedEvent B(\"later\")", "ExecutionCompletedEvent Completed \"phase 1 got later\""],
                Steps(history));
            var started = Assert.Single(history.OfType<DtHistory.ExecutionStartedEvent>());
            Assert.Equal(waiting, started.OrchestrationInstance.ExecutionId);
            Assert.Equal(waiting, (await worker.Provider.GetInstanceAsync(id, false))!.ExecutionId);
            Assert.Empty((await worker.Provider.Clients.ControlQueues[0].PeekMessagesAsync(32)).Value);
        }
        finally
        {
            await worker.DisposeAsync();
            await worker.Provider.Clients.DeleteAsync();
        }
    }

    /// <summary>Generation 0 waits for "A" (calling <paramref name="onA"/> when it arrives) and continues as new; generation 1 returns what "B" carries.</summary>
    private static void RegisterPhases(SdkRegistry registry, Action onA) =>
        registry.AddOrchestratorFunc<int, string>("Phases", async (context, phase) =>
        {
            context.SetCustomStatus("phase " + phase.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (phase == 0)
            {
                await context.WaitForExternalEvent<string>("A");
                if (!context.IsReplaying)
                {
                    onA();
                }

                context.ContinueAsNew(1);
                return "continued";
            }

            return "phase 1 got " + await context.WaitForExternalEvent<string>("B");
        });

    /// <summary>Polls the instance's row (external state) until its custom status is <paramref name="serialized"/>.</summary>
    private static async Task WaitForCustomStatusAsync(InProcessWorker worker, string id, string serialized)
    {
        using var deadline = new CancellationTokenSource(InProcessWorker.SafetyTimeout);
        while ((await worker.Client.GetInstanceAsync(id, getInputsAndOutputs: true, deadline.Token))?.SerializedCustomStatus != serialized)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token);
        }
    }

    /// <summary>A DTFx history's events other than episode boundaries, each with what identifies it.</summary>
    private static List<string> Steps(IList<DtHistory.HistoryEvent> history) =>
    [
        .. history.Where(e => e is not (DtHistory.OrchestratorStartedEvent or DtHistory.OrchestratorCompletedEvent)).Select(e => e switch
        {
            DtHistory.ExecutionStartedEvent started => $"ExecutionStartedEvent {started.Name}({started.Input})",
            DtHistory.EventRaisedEvent raised => $"EventRaisedEvent {raised.Name}({raised.Input})",
            DtHistory.ExecutionCompletedEvent completed => $"ExecutionCompletedEvent {completed.OrchestrationStatus} {completed.Result}",
            _ => e.GetType().Name,
        }),
    ];

    /// <summary>
    /// A worker (<c>Dead</c>) ran an instance's start and then a batch of half a window of events, committed the batch and
    /// died before deleting its messages: they stay invisible until the test shows them (<c>DeadIds</c>: the ids its
    /// commits recorded). Then the next worker (<c>Next</c>) received and committed a full window of newer events.
    /// Both run on one fake clock (<c>Clock</c>), which the test moves.
    /// </summary>
    private async Task<DeadWorkerRun> DeadWorkerThenAFullWindowAsync()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        hub.MaxQueuePollingInterval = Tick;
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var dead = new AzureStorageProvider(hub, clock, DeadWorkerVisibility, usePartitionLeases: false) { RememberedMessageIds = Window };
        await dead.CreateIfNotExistsAsync();
        var id = Guid.NewGuid().ToString("N");
        await dead.CreateInstanceAsync(new OrchestrationMessage(id, "e1", new ExecutionStarted(T0, "Hello", id, "e1", null)));
        var first = await LockDrivingTheClockAsync(dead, clock);

        // While the instance is locked, half a window of events arrives and waits in its buffer.
        for (var i = 0; i < Window / 2; i++)
        {
            await dead.SendMessageAsync(new OrchestrationMessage(id, null, new EventRaised(T0, "A" + i, null)));
        }

        await Eventually.UntilAsync(() => { clock.Advance(Tick); return QueueLooksEmpty(dead); }, TimeSpan.FromSeconds(60));
        await dead.CompleteOrchestrationWorkItemAsync(first, Running(first.Messages[0].Event));

        // The next episode takes them all, commits them, and the worker dies before deleting them.
        var batch = await LockDrivingTheClockAsync(dead, clock);
        Assert.Equal(Window / 2, batch.Messages.Count);
        dead.Faults = new FaultAt(CommitStep.InstanceRowWritten);
        await dead.CompleteOrchestrationWorkItemAsync(batch, Running([.. batch.Messages.Select(m => m.Event)]));
        await dead.DisposeAsync();
        var deadIds = RememberedIds.Of(await SentinelAsync(dead, id)).All.ToList();
        Assert.Equal(1 + (Window / 2), deadIds.Count);

        // The next worker receives a full window of newer events and commits them (half a window per work item).
        var next = new AzureStorageProvider(hub, clock, DeadWorkerVisibility, usePartitionLeases: false) { RememberedMessageIds = Window };
        for (var i = 0; i < Window; i++)
        {
            await next.SendMessageAsync(new OrchestrationMessage(id, null, new EventRaised(T0, "B" + i, null)));
        }

        for (var committed = 0; committed < Window;)
        {
            var item = await LockDrivingTheClockAsync(next, clock);
            Assert.All(item.Messages, m => Assert.StartsWith("B", Assert.IsType<EventRaised>(m.Event).Name, StringComparison.Ordinal));
            await next.CompleteOrchestrationWorkItemAsync(item, Running([.. item.Messages.Select(m => m.Event)]));
            committed += item.Messages.Count;
        }

        return new DeadWorkerRun(id, clock, dead, next, deadIds);
    }

    /// <summary>The next work item, moving the fake clock on (so that the receive loops poll) while none comes.</summary>
    private static async Task<OrchestrationWorkItem> LockDrivingTheClockAsync(AzureStorageProvider provider, FakeTimeProvider clock)
    {
        using var deadline = new CancellationTokenSource(InProcessWorker.SafetyTimeout);
        while (true)
        {
            deadline.Token.ThrowIfCancellationRequested();
            if (await WorkItems.TryLockAsync(provider, TimeSpan.FromSeconds(1)) is { } item)
            {
                return item;
            }

            clock.Advance(Tick);
        }
    }

    /// <summary>Runs the next worker's work items (committing what they carry, as a worker would) until <paramref name="done"/> holds.</summary>
    private static async Task DriveAsync(DeadWorkerRun run, Func<Task<bool>> done)
    {
        using var deadline = new CancellationTokenSource(InProcessWorker.SafetyTimeout);
        while (!await done())
        {
            deadline.Token.ThrowIfCancellationRequested();
            if (await WorkItems.TryLockAsync(run.Next, TimeSpan.FromSeconds(1)) is { } item)
            {
                await run.Next.CompleteOrchestrationWorkItemAsync(item, Running([.. item.Messages.Select(m => m.Event)]));
            }
            else
            {
                run.Clock.Advance(Tick);
            }
        }
    }

    private static async Task<TableEntity> SentinelAsync(AzureStorageProvider provider, string instanceId) =>
        (await provider.Clients.History.GetEntityAsync<TableEntity>(instanceId, HistoryStore.SentinelRowKey)).Value;

    private static bool QueueLooksEmpty(AzureStorageProvider provider) =>
        provider.Clients.ControlQueues[0].PeekMessages(1).Value.Length == 0;

    /// <summary>Starts an instance whose first episode schedules one activity (run in-process), and runs that activity.</summary>
    private static async Task<string> StartWithOneInProcessActivityAsync(AzureStorageProvider provider)
    {
        await provider.CreateIfNotExistsAsync();
        var id = Guid.NewGuid().ToString("N");
        await provider.CreateInstanceAsync(new OrchestrationMessage(id, "e1", new ExecutionStarted(T0, "Hello", id, "e1", null)));
        var item = await provider.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        var scheduled = new TaskScheduled(T0, 0, "A", null);
        await provider.CompleteOrchestrationWorkItemAsync(item, new OrchestrationCommit
        {
            ExecutionId = "e1",
            NewEvents = [new OrchestratorStarted(T0), item.Messages[0].Event, scheduled, new OrchestratorCompleted(T0)],
            State = new InstanceStateUpdate("Hello", OrchestrationRuntimeStatus.Running, null, null, null, null, null),
            ActivityMessages = [new ActivityMessage(id, "e1", scheduled)],
        });
        var activity = await provider.LockNextActivityWorkItemAsync(InProcessWorker.Timeout());
        await provider.CompleteActivityWorkItemAsync(activity, new OrchestrationMessage(id, "e1", new TaskCompleted(T0, 0, "\"a\"")));
        return id;
    }

    private static async Task<OrchestrationWorkItem> LockAsync(AzureStorageProvider provider, string instanceId)
    {
        var item = await provider.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        Assert.Equal(instanceId, item.InstanceId);
        return item;
    }

    private static OrchestrationCommit ParentCallsChild(OrchestrationWorkItem item, string parent, string child, string childExecutionId) => new()
    {
        ExecutionId = "pe1",
        NewEvents = [new OrchestratorStarted(T0), .. item.Messages.Select(m => m.Event).OfType<ExecutionStarted>(), new SubOrchestrationInstanceCreated(T0, 0, "Child", child, null), new OrchestratorCompleted(T0)],
        State = new InstanceStateUpdate("Parent", OrchestrationRuntimeStatus.Running, null, null, null, null, null),
        OrchestrationMessages = [new OrchestrationMessage(child, childExecutionId, new ExecutionStarted(T0, "Child", child, childExecutionId, null, new ParentInstanceInfo(parent, "pe1", 0, "Parent")))],
    };

    private static OrchestrationCommit Running(params HistoryEvent[] events) => new()
    {
        ExecutionId = "e1",
        NewEvents = [new OrchestratorStarted(T0), .. events, new OrchestratorCompleted(T0)],
        State = new InstanceStateUpdate("Hello", OrchestrationRuntimeStatus.Running, null, null, null, null, null),
    };

    private static OrchestrationCommit Completed(HistoryEvent trigger) => new()
    {
        ExecutionId = "e1",
        NewEvents = [new OrchestratorStarted(T0), trigger, new ExecutionCompleted(T0, OrchestrationRuntimeStatus.Completed, "\"done\""), new OrchestratorCompleted(T0)],
        State = new InstanceStateUpdate("Hello", OrchestrationRuntimeStatus.Completed, null, "\"done\"", null, null, null),
    };

    /// <summary>What <see cref="DeadWorkerThenAFullWindowAsync"/> leaves.</summary>
    private sealed record DeadWorkerRun(string Id, FakeTimeProvider Clock, AzureStorageProvider Dead, AzureStorageProvider Next, IReadOnlyList<string> DeadIds);
}
