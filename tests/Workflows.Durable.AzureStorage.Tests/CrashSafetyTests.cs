using Workflows.Durable.History;
using Workflows.Durable.Storage;
using Workflows.Testing;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class CrashSafetyTests(AzuriteFixture azurite)
{
    private static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task CrashAfterCommitBeforeMessageDeletion_RedeliveredEventIsNotAppliedTwice()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        var crashing = new AzureStorageProvider(hub, null, TimeSpan.FromSeconds(1), usePartitionLeases: false) { Faults = new FaultAt(CommitStep.InstanceRowWritten) };
        await crashing.CreateIfNotExistsAsync();
        var id = Guid.NewGuid().ToString("N");
        await crashing.CreateInstanceAsync(new OrchestrationMessage(id, "e1", new ExecutionStarted(T0, "Hello", id, "e1", null)));
        var first = await crashing.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        await crashing.CompleteOrchestrationWorkItemAsync(first, new OrchestrationCommit
        {
            ExecutionId = "e1",
            NewEvents = [new OrchestratorStarted(T0), first.Messages[0].Event, new OrchestratorCompleted(T0)],
            State = new InstanceStateUpdate("Hello", OrchestrationRuntimeStatus.Running, null, null, null, null, null),
        });

        await crashing.DisposeAsync(); // the crashed process polls no more

        // A new process on the same hub: the start message reappears once its visibility timeout ends, but its
        // event is already in history, so it is discarded instead of being applied again.
        var restarted = new AzureStorageProvider(hub, null, TimeSpan.FromSeconds(1), usePartitionLeases: false);
        await WorkItems.PollWithoutWorkAsync(restarted, TimeSpan.FromSeconds(4));

        var left = await restarted.Clients.ControlQueues[0].PeekMessagesAsync(32);
        Assert.Empty(left.Value);
        Assert.Single((await restarted.GetHistoryAsync(id)).OfType<ExecutionStarted>());
        await restarted.Clients.DeleteAsync();
    }

    [Fact]
    public async Task CommitByAWorkerThatLostTheRace_IsRejectedByTheHistoryETag()
    {
        var (one, two, id, fromOne, fromTwo) = await StartRaceAsync();
        await one.CompleteOrchestrationWorkItemAsync(fromOne, Running(new OrchestratorStarted(T0), new EventRaised(T0, "A", null)));
        await Assert.ThrowsAsync<WorkItemLockLostException>(() =>
            two.CompleteOrchestrationWorkItemAsync(fromTwo, Running(new OrchestratorStarted(T0), new EventRaised(T0, "B", null))));

        var history = await one.GetHistoryAsync(id);
        Assert.Single(history.OfType<EventRaised>());

        // The loser does not keep the instance locked: B is delivered again, on the history the winner committed.
        var again = await two.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        Assert.Equal(id, again.InstanceId);
        Assert.Equal("B", Assert.IsType<EventRaised>(Assert.Single(again.Messages).Event).Name);
        Assert.NotEqual(fromTwo.HistoryETag, again.HistoryETag);
        await two.CompleteOrchestrationWorkItemAsync(again, Running(new OrchestratorStarted(T0), new EventRaised(T0, "B", null)));
        Assert.Equal(["A", "B"], (await one.GetHistoryAsync(id)).OfType<EventRaised>().Select(e => e.Name));
        await one.Clients.DeleteAsync();
    }

    [Fact]
    public async Task LoserOfARaceWithMoreThanOneBatch_LeavesTheWinnersHistoryIntact()
    {
        // Each commits 150 new events (two table batches).
        var (one, two, id, fromOne, fromTwo) = await StartRaceAsync();
        var winner = Enumerable.Range(0, 150).Select(i => (HistoryEvent)new EventRaised(T0, "A" + i, null)).ToArray();
        var loser = Enumerable.Range(0, 150).Select(i => (HistoryEvent)new EventRaised(T0, "B" + i, null)).ToArray();
        await one.CompleteOrchestrationWorkItemAsync(fromOne, Running([new OrchestratorStarted(T0), .. winner]));
        await Assert.ThrowsAsync<WorkItemLockLostException>(() => two.CompleteOrchestrationWorkItemAsync(fromTwo, Running([new OrchestratorStarted(T0), .. loser])));

        // Event by event: the first episode, then the winner's, none of the loser's.
        var names = (await one.GetHistoryAsync(id)).Select(e => e is EventRaised raised ? raised.Name : e.GetType().Name).ToList();
        string[] expected =
        [
            nameof(OrchestratorStarted), nameof(ExecutionStarted), nameof(OrchestratorCompleted),
            nameof(OrchestratorStarted), .. winner.Cast<EventRaised>().Select(e => e.Name), nameof(OrchestratorCompleted),
        ];
        Assert.Equal(expected, names);
        await one.Clients.DeleteAsync();
    }

    [Fact]
    public async Task CrashBetweenHistoryCommitAndInstanceRow_IsRepairedWhenTheMessagesComeBack()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        var crashing = new AzureStorageProvider(hub, null, TimeSpan.FromSeconds(1), usePartitionLeases: false) { Faults = new FaultAt(CommitStep.HistoryCommitted) };
        await crashing.CreateIfNotExistsAsync();
        var id = Guid.NewGuid().ToString("N");
        await crashing.CreateInstanceAsync(new OrchestrationMessage(id, "e1", new ExecutionStarted(T0, "Hello", id, "e1", null)));
        var item = await crashing.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        await crashing.CompleteOrchestrationWorkItemAsync(item, new OrchestrationCommit
        {
            ExecutionId = "e1",
            NewEvents = [new OrchestratorStarted(T0), item.Messages[0].Event, new ExecutionCompleted(T0, OrchestrationRuntimeStatus.Completed, "\"done\""), new OrchestratorCompleted(T0)],
            State = new InstanceStateUpdate("Hello", OrchestrationRuntimeStatus.Completed, null, "\"done\"", "\"last words\"", null, null),
        });
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await crashing.GetInstanceAsync(id, false))!.RuntimeStatus);
        await crashing.DisposeAsync(); // the crashed process polls no more

        var restarted = new AzureStorageProvider(hub, null, TimeSpan.FromSeconds(1), usePartitionLeases: false);
        await WorkItems.PollWithoutWorkAsync(restarted, TimeSpan.FromSeconds(4));

        var repaired = await restarted.GetInstanceAsync(id, true);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, repaired!.RuntimeStatus);
        Assert.Equal("\"done\"", repaired.SerializedOutput);
        Assert.Equal("\"last words\"", repaired.SerializedCustomStatus);
        await restarted.Clients.DeleteAsync();
    }

    /// <summary>
    /// Two "workers" holding a work item of one instance built on the same history (split brain): leases off, so both
    /// poll the one partition, as two workers would if a lease were lost mid-episode. One holds event A, two event B.
    /// </summary>
    private async Task<(AzureStorageProvider One, AzureStorageProvider Two, string Id, OrchestrationWorkItem FromOne, OrchestrationWorkItem FromTwo)> StartRaceAsync()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        var one = new AzureStorageProvider(hub, null, null, usePartitionLeases: false);
        var two = new AzureStorageProvider(hub, null, null, usePartitionLeases: false);
        await one.CreateIfNotExistsAsync();
        var id = Guid.NewGuid().ToString("N");
        await one.CreateInstanceAsync(new OrchestrationMessage(id, "e1", new ExecutionStarted(T0, "Hello", id, "e1", null)));
        var item = await one.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        await one.CompleteOrchestrationWorkItemAsync(item, Running(new OrchestratorStarted(T0), item.Messages[0].Event));

        await one.SendMessageAsync(new OrchestrationMessage(id, null, new EventRaised(T0, "A", null)));
        var fromOne = await one.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());

        // One's background poller would race two's for B (and, holding the instance, buffer it): stop it first, so
        // that B can only reach two. One still completes the work item it holds.
        await one.StopControlPollingAsync();
        await two.SendMessageAsync(new OrchestrationMessage(id, null, new EventRaised(T0, "B", null)));
        var fromTwo = await two.LockNextOrchestrationWorkItemAsync(InProcessWorker.Timeout());
        Assert.Equal(fromOne.HistoryETag, fromTwo.HistoryETag);
        return (one, two, id, fromOne, fromTwo);
    }

    private static OrchestrationCommit Running(params HistoryEvent[] events) => new()
    {
        ExecutionId = "e1",
        NewEvents = [.. events, new OrchestratorCompleted(T0)],
        State = new InstanceStateUpdate("Hello", OrchestrationRuntimeStatus.Running, null, null, null, null, null),
    };
}
