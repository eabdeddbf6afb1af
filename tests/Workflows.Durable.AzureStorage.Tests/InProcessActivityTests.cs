using DurableTask.Core.History;
using Workflows.Testing;
using Xunit;
using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Activities of owned instances run in the worker's process with their intent in committed history; these tests
/// show that what a stopped worker was running is run again by the next owner, exactly once per result. The workers
/// are the official SDK's functions on DTFx's worker over our backend (<see cref="InProcessWorker"/>).
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
        AzureStorageOptions Worker(string workerId) => new()
        {
            ConnectionString = hub.ConnectionString,
            TaskHubName = hub.TaskHubName,
            PartitionCount = hub.PartitionCount,
            LeaseDuration = TimeSpan.FromSeconds(15),
            LeaseRenewInterval = TimeSpan.FromSeconds(2),
            MessageVisibilityTimeout = TimeSpan.FromSeconds(90),
            WorkerId = workerId,
        };

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;

        // The first worker finishes some calls; the odd ones block (all its 8 activity slots, in the end), and it is
        // stopped hard with them running.
        var crashing = InProcessWorker.Create(Worker("first"), registry => RegisterFanOut(registry, async x =>
        {
            if (x % 2 == 1)
            {
                Interlocked.Increment(ref started);
                await gate.Task;
            }

            return x * x;
        }));
        var survivor = InProcessWorker.Create(Worker("second"), registry => RegisterFanOut(registry, x => Task.FromResult(x * x)));
        try
        {
            await crashing.StartAsync();
            var id = await crashing.Client.ScheduleNewOrchestrationInstanceAsync("SlowFanOut", 40);
            await UntilAsync(async () => Volatile.Read(ref started) >= 8 && (await crashing.Client.GetOrchestrationHistoryAsync(id)).OfType<TaskCompletedEvent>().Count() >= 4);

            // DTFx's forced stop leaves the 8 activities running (their results are never committed by this worker);
            // disposing the backend then gives its partitions back, the recovery markers of its instances with them.
            await crashing.StopHardAsync();

            await survivor.StartAsync();
            using var beforeMarkersWouldShow = new CancellationTokenSource(TimeSpan.FromSeconds(40));
            var result = await survivor.Client.WaitForInstanceCompletionAsync(id, true, beforeMarkersWouldShow.Token);

            Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(Enumerable.Range(0, 40).Sum(x => (long)x * x), result.ReadOutputAs<long>());
            var history = await survivor.Client.GetOrchestrationHistoryAsync(id);
            var scheduled = history.OfType<TaskScheduledEvent>().Select(e => e.EventId).ToList();
            var completed = history.OfType<TaskCompletedEvent>().Select(e => e.TaskScheduledId).ToList();
            Assert.Equal(40, scheduled.Count);
            Assert.Equal(scheduled.Order(), completed.Order());
        }
        finally
        {
            gate.TrySetResult();
            await crashing.DisposeAsync();
            await survivor.DisposeAsync();
            await survivor.Provider.Clients.DeleteAsync();
        }
    }

    [Fact]
    public async Task OneWorker_FanOutOfManyActivities_SendsNoWorkItemMessages()
    {
        var worker = InProcessWorker.Create(azurite.NewHub(partitionCount: 1), RegisterFanOutFanIn);
        try
        {
            await worker.StartAsync();
            var result = await worker.RunAsync("FanOutFanIn", 300);

            Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(Enumerable.Range(0, 300).Sum(x => (long)x * x), result.ReadOutputAs<long>());
            var properties = await worker.Provider.Clients.WorkItems.GetPropertiesAsync();
            Assert.Equal(0, properties.Value.ApproximateMessagesCount);
            Assert.Empty((await worker.Provider.Clients.ControlQueues[0].PeekMessagesAsync(32)).Value);
        }
        finally
        {
            await worker.DisposeAsync();
            await worker.Provider.Clients.DeleteAsync();
        }
    }

    private static void RegisterFanOut(SdkRegistry registry, Func<int, Task<int>> square) => registry
        .AddActivityFunc<int, int>("SlowSquare", (_, x) => square(x))
        .AddFanOut("SlowFanOut", "SlowSquare");

    private static void RegisterFanOutFanIn(SdkRegistry registry) => registry
        .AddActivityFunc<int, int>("Square", (_, x) => x * x)
        .AddFanOut("FanOutFanIn", "Square");

    /// <summary>Polls committed history (external state) with a deadline.</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(InProcessWorker.SafetyTimeout);
        while (!await condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
        }
    }
}
