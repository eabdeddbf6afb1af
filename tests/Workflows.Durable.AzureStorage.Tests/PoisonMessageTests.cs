using System.Text.Json;
using DurableTask.Core.History;
using Workflows.Testing;
using Xunit;
using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Messages that cannot be processed: a call whose worker dies every time, and a control message nobody can read. The
/// workers are the official SDK's functions on DTFx's worker over our backend (<see cref="InProcessWorker"/>), each
/// with a provider of its own, as separate processes would have.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PoisonMessageTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task ActivityWhoseWorkerDiesEveryTime_FailsItsInstanceWithTheReason_OthersUnaffected()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        hub.MaxDequeueCount = 2;
        var neverEnds = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = new List<InProcessWorker>();
        string? id = null;
        try
        {
            // Two workers in a row (each its own backend and provider: nothing in memory survives them) take the
            // activity and are stopped hard while it runs, as if it crashed them.
            for (var attempt = 0; attempt < 2; attempt++)
            {
                var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var crashing = InProcessWorker.Create(Worker(hub, "crashing" + attempt), r => Register(r, started, neverEnds.Task));
                workers.Add(crashing);
                await crashing.StartAsync();
                id ??= await crashing.Client.ScheduleNewOrchestrationInstanceAsync("CallsCrashy");
                await started.Task.WaitAsync(InProcessWorker.SafetyTimeout);
                await crashing.StopHardAsync();
            }

            // The third start would be a third crash: the call fails with the reason instead, and so does the instance.
            var ranAgain = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var survivor = InProcessWorker.Create(Worker(hub, "survivor"), r => Register(r, ranAgain, neverEnds.Task));
            workers.Add(survivor);
            await survivor.StartAsync();
            var result = await survivor.Client.WaitForInstanceCompletionAsync(id!, true, InProcessWorker.Timeout());
            Assert.Equal(SdkRuntimeStatus.Failed, result.RuntimeStatus);
            Assert.False(ranAgain.Task.IsCompleted);
            const string Reason = "Activity 'Crashy' was started 2 times without completing (poison message; limit 2).";
            Assert.Contains(Reason, result.FailureDetails!.InnerFailure?.ErrorMessage ?? result.FailureDetails.ErrorMessage, StringComparison.Ordinal);

            // Event by event: the one call, its failure with the reason, the instance's failure.
            var history = await survivor.Client.GetOrchestrationHistoryAsync(id!);
            Assert.Equal(
                [nameof(ExecutionStartedEvent), nameof(TaskScheduledEvent), nameof(TaskFailedEvent), nameof(ExecutionCompletedEvent)],
                history.Where(e => e is not (OrchestratorStartedEvent or OrchestratorCompletedEvent)).Select(e => e.GetType().Name));
            var scheduled = Assert.Single(history.OfType<TaskScheduledEvent>());
            var failed = Assert.Single(history.OfType<TaskFailedEvent>());
            Assert.Equal(scheduled.EventId, failed.TaskScheduledId);
            Assert.Equal(Reason, failed.FailureDetails!.ErrorMessage);
            Assert.Equal(global::DurableTask.Core.OrchestrationStatus.Failed, Assert.Single(history.OfType<ExecutionCompletedEvent>()).OrchestrationStatus);

            // The poison queue records the call, with the reason.
            var poison = Assert.Single((await survivor.Provider.Clients.Poison.PeekMessagesAsync(32)).Value);
            Assert.Equal(Reason, JsonDocument.Parse(poison.Body.ToString()).RootElement.GetProperty("reason").GetString());

            // Other instances are unaffected.
            var healthy = await survivor.RunAsync("HelloSequence");
            Assert.Equal(SdkRuntimeStatus.Completed, healthy.RuntimeStatus);
            Assert.Equal("Hello Tokyo! Hello London!", healthy.ReadOutputAs<string>());
        }
        finally
        {
            neverEnds.TrySetResult("late");
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }

            if (workers.Count > 0)
            {
                await workers[^1].Provider.Clients.DeleteAsync();
            }
        }
    }

    [Fact]
    public async Task UnreadableControlMessage_GoesToThePoisonQueue_AndTheHubKeepsWorking()
    {
        var worker = InProcessWorker.Create(azurite.NewHub(partitionCount: 1), r => Register(r, new TaskCompletionSource(), Task.FromResult("unused")));
        try
        {
            await worker.Provider.CreateIfNotExistsAsync();
            await worker.Provider.Clients.ControlQueues[0].SendMessageAsync("this is not an envelope");
            await worker.StartAsync();

            var result = await worker.RunAsync("HelloSequence");

            Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal("Hello Tokyo! Hello London!", result.ReadOutputAs<string>());
            var poison = Assert.Single((await worker.Provider.Clients.Poison.PeekMessagesAsync(32)).Value);
            Assert.Contains("unreadable control message", poison.Body.ToString(), StringComparison.Ordinal);
            Assert.Contains("this is not an envelope", poison.Body.ToString(), StringComparison.Ordinal);
            Assert.Empty((await worker.Provider.Clients.ControlQueues[0].PeekMessagesAsync(32)).Value);
        }
        finally
        {
            await worker.DisposeAsync();
            await worker.Provider.Clients.DeleteAsync();
        }
    }

    [Fact]
    public void Options_RejectDequeueCountOutOfRange()
    {
        var error = Assert.Throws<ArgumentException>(new AzureStorageOptions { MaxDequeueCount = 0 }.Validate);
        Assert.Contains("maxDequeueCount", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The hub's settings for one worker under its own name.</summary>
    private static AzureStorageOptions Worker(AzureStorageOptions hub, string workerId) => new()
    {
        ConnectionString = hub.ConnectionString,
        TaskHubName = hub.TaskHubName,
        PartitionCount = hub.PartitionCount,
        MaxDequeueCount = hub.MaxDequeueCount,
        WorkerId = workerId,
    };

    private static void Register(SdkRegistry registry, TaskCompletionSource started, Task<string> work) => registry
        .AddActivityFunc<string, string>("SayHello", (_, name) => $"Hello {name}!")
        .AddOrchestratorFunc<string?, string>("HelloSequence", async (context, _) =>
            await context.CallActivityAsync<string>("SayHello", "Tokyo") + " " + await context.CallActivityAsync<string>("SayHello", "London"))
        .AddActivityFunc<string?, string>("Crashy", (_, _) =>
        {
            started.TrySetResult();
            return work;
        })
        .AddOrchestratorFunc<string?, string>("CallsCrashy", (context, _) => context.CallActivityAsync<string>("Crashy"));
}
