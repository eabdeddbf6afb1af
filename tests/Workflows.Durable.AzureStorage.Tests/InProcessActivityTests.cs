using Workflows.Durable.Conformance;
using Workflows.Durable.History;
using Workflows.Durable.Worker;
using Workflows.Testing;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Activities of owned instances run in the worker's process with their intent in committed history; these tests
/// show that what a stopped worker was running is run again by the next owner, exactly once per result.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class InProcessActivityTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task WorkerStopsWithActivitiesRunning_NextOwnerRunsThemAgain_EachResultCommittedOnce()
    {
        // A held message (a recovery marker among them) is invisible for the visibility timeout after its last
        // renewal: at 90 s, a marker that is not handed back at once shows only after the deadline below.
        var hub = azurite.NewHub(partitionCount: 2);
        hub.LeaseDuration = TimeSpan.FromSeconds(15);
        hub.LeaseRenewInterval = TimeSpan.FromSeconds(2);
        hub.MessageVisibilityTimeout = TimeSpan.FromSeconds(90);
        var first = new AzureStorageProvider(hub);
        var second = new AzureStorageProvider(hub);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;
        try
        {
            // The first worker finishes some calls; the odd ones block (all its 8 activity slots, in the end), and it
            // is stopped hard with them running.
            var crashing = await WorkerHarness.StartAsync(first, registry => RegisterFanOut(registry, async x =>
            {
                if (x % 2 == 1)
                {
                    Interlocked.Increment(ref started);
                    await gate.Task;
                }

                return x * x;
            }));
            var id = await crashing.Client.ScheduleNewOrchestrationInstanceAsync("SlowFanOut", 40);
            await UntilAsync(async () => Volatile.Read(ref started) >= 8 && (await crashing.Client.GetOrchestrationHistoryAsync(id)).OfType<TaskCompleted>().Count() >= 4);
            using (var now = new CancellationTokenSource())
            {
                await now.CancelAsync();
                await crashing.Worker.StopAsync(now.Token);
            }

            await first.DisposeAsync(); // gives its partitions back, the recovery markers of its instances with them

            await using var survivor = await WorkerHarness.StartAsync(second, registry => RegisterFanOut(registry, x => Task.FromResult(x * x)));
            using var beforeMarkersWouldShow = new CancellationTokenSource(TimeSpan.FromSeconds(40));
            var result = await survivor.Client.WaitForInstanceCompletionAsync(id, true, beforeMarkersWouldShow.Token);

            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(Enumerable.Range(0, 40).Sum(x => (long)x * x), result.ReadOutputAs<long>());
            var history = await survivor.Client.GetOrchestrationHistoryAsync(id);
            var scheduled = history.OfType<TaskScheduled>().Select(e => e.EventId).ToList();
            var completed = history.OfType<TaskCompleted>().Select(e => e.TaskScheduledId).ToList();
            Assert.Equal(40, scheduled.Count);
            Assert.Equal(scheduled.Order(), completed.Order());
        }
        finally
        {
            gate.TrySetResult();
            await second.DisposeAsync();
            await second.Clients.DeleteAsync();
        }
    }

    [Fact]
    public async Task OneWorker_FanOutOfManyActivities_SendsNoWorkItemMessages()
    {
        var provider = new AzureStorageProvider(azurite.NewHub(partitionCount: 1));
        try
        {
            await using var harness = await WorkerHarness.StartAsync(provider, TestOrchestrations.RegisterAll);
            var result = await harness.RunAsync("FanOutFanIn", 300);

            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(Enumerable.Range(0, 300).Sum(x => (long)x * x), result.ReadOutputAs<long>());
            var properties = await provider.Clients.WorkItems.GetPropertiesAsync();
            Assert.Equal(0, properties.Value.ApproximateMessagesCount);
            Assert.Empty((await provider.Clients.ControlQueues[0].PeekMessagesAsync(32)).Value);
        }
        finally
        {
            await provider.DisposeAsync();
            await provider.Clients.DeleteAsync();
        }
    }

    private static void RegisterFanOut(DurableTaskRegistry registry, Func<int, Task<int>> square) => registry
        .AddActivityFunc<int, int>("SlowSquare", (_, x) => square(x))
        .AddOrchestratorFunc<int, long>("SlowFanOut", async (context, count) =>
        {
            var tasks = new Task<int>[count];
            for (var i = 0; i < count; i++)
            {
                tasks[i] = context.CallActivityAsync<int>("SlowSquare", i);
            }

            long sum = 0;
            foreach (var value in await Task.WhenAll(tasks))
            {
                sum += value;
            }

            return sum;
        });

    /// <summary>Polls committed history (external state) with a deadline.</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(WorkerHarness.SafetyTimeout);
        while (!await condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
        }
    }
}
