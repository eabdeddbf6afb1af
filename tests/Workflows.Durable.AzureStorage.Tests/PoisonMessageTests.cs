using Workflows.Durable.Conformance;
using Workflows.Testing;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class PoisonMessageTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task ActivityWhoseWorkerDiesEveryTime_FailsItsInstanceWithTheReason_OthersUnaffected()
    {
        var options = azurite.NewHub(partitionCount: 1);
        options.MaxDequeueCount = 2;
        var provider = new AzureStorageProvider(options);
        var neverEnds = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        string? id = null;
        try
        {
            // Two workers in a row take the activity and are stopped hard while it runs (as if they crashed).
            for (var attempt = 0; attempt < 2; attempt++)
            {
                var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var crashing = await WorkerHarness.StartAsync(provider, r => Register(r, started, neverEnds.Task));
                id ??= await crashing.Client.ScheduleNewOrchestrationInstanceAsync("CallsCrashy");
                await started.Task.WaitAsync(WorkerHarness.SafetyTimeout);
                using var now = new CancellationTokenSource();
                await now.CancelAsync();
                await crashing.Worker.StopAsync(now.Token);
            }

            // The third delivery is poison: the call fails with the reason instead of killing a third worker.
            await using var survivor = await WorkerHarness.StartAsync(provider, r => Register(r, new TaskCompletionSource(), neverEnds.Task));
            var result = await survivor.Client.WaitForInstanceCompletionAsync(id!, true, WorkerHarness.Timeout());
            Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
            Assert.Contains("started 2 times without completing (poison message", result.FailureDetails!.InnerFailure!.ErrorMessage, StringComparison.Ordinal);

            var healthy = await survivor.RunAsync("HelloSequence");
            Assert.Equal(OrchestrationRuntimeStatus.Completed, healthy.RuntimeStatus);
            Assert.Single((await provider.Clients.Poison.PeekMessagesAsync(32)).Value);
        }
        finally
        {
            neverEnds.TrySetResult("late");
            await provider.Clients.DeleteAsync();
        }
    }

    [Fact]
    public async Task UnreadableControlMessage_GoesToThePoisonQueue_AndTheHubKeepsWorking()
    {
        var provider = new AzureStorageProvider(azurite.NewHub(partitionCount: 1));
        await provider.CreateIfNotExistsAsync();
        await provider.Clients.ControlQueues[0].SendMessageAsync("this is not an envelope");
        try
        {
            await using var harness = await WorkerHarness.StartAsync(provider, TestOrchestrations.RegisterAll);

            var result = await harness.RunAsync("HelloSequence");

            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            var poison = Assert.Single((await provider.Clients.Poison.PeekMessagesAsync(32)).Value);
            Assert.Contains("unreadable control message", poison.Body.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            await provider.Clients.DeleteAsync();
        }
    }

    [Fact]
    public void Options_RejectDequeueCountOutOfRange()
    {
        var error = Assert.Throws<ArgumentException>(new AzureStorageOptions { MaxDequeueCount = 0 }.Validate);
        Assert.Contains("maxDequeueCount", error.Message, StringComparison.Ordinal);
    }

    private static void Register(DurableTaskRegistry registry, TaskCompletionSource started, Task<string> work)
    {
        TestOrchestrations.RegisterAll(registry);
        registry
            .AddActivityFunc<string?, string>("Crashy", (_, _) =>
            {
                started.TrySetResult();
                return work;
            })
            .AddOrchestratorFunc<string?, string>("CallsCrashy", (context, _) => context.CallActivityAsync<string>("Crashy"));
    }
}
