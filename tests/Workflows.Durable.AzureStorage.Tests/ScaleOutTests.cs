using Workflows.Testing;
using Xunit;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Workflows.Durable.AzureStorage.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class ScaleOutTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task TwoWorkersOnOneHub_SharePartitions_RunTwoThousandActivities_AndRebalanceWhenOneStops()
    {
        var hub = azurite.NewHub(partitionCount: 4);
        hub.LeaseDuration = TimeSpan.FromSeconds(15);
        hub.LeaseRenewInterval = TimeSpan.FromSeconds(1);
        var squaresByOne = 0;
        var squaresByTwo = 0;
        await using var one = await InProcessWorker.StartAsync(hub, registry => Register(registry, () => Interlocked.Increment(ref squaresByOne)));
        var two = await InProcessWorker.StartAsync(hub, registry => Register(registry, () => Interlocked.Increment(ref squaresByTwo)));
        try
        {
            await Eventually.UntilAsync(() => one.Provider.OwnedPartitions.Count == 2 && two.Provider.OwnedPartitions.Count == 2, TimeSpan.FromSeconds(45));
            Assert.Empty(one.Provider.OwnedPartitions.Intersect(two.Provider.OwnedPartitions));

            var ids = new List<string>();
            for (var i = 0; i < 20; i++)
            {
                ids.Add(await one.Client.ScheduleNewOrchestrationInstanceAsync("FanOutFanIn", 100));
            }

            foreach (var id in ids)
            {
                var result = await one.Client.WaitForInstanceCompletionAsync(id, true, InProcessWorker.Timeout());
                Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
                Assert.Equal(328350L, result.ReadOutputAs<long>());
            }

            // Activities run in the process of the worker that owns their instance's partition: both ran some.
            Assert.True(squaresByOne > 0 && squaresByTwo > 0, $"both workers ran activities ({squaresByOne}, {squaresByTwo})");
            Assert.Equal(2000, squaresByOne + squaresByTwo);
            Assert.Empty(one.Provider.OwnedPartitions.Intersect(two.Provider.OwnedPartitions));

            // The second worker stops and gives its leases back: the first takes every partition and keeps going.
            await two.DisposeAsync();
            await Eventually.UntilAsync(() => one.Provider.OwnedPartitions.Count == 4, TimeSpan.FromSeconds(45));
            var after = await one.RunAsync("Parent", 4);
            Assert.Equal(SdkRuntimeStatus.Completed, after.RuntimeStatus);
            Assert.Equal(3L * 4 * 4, after.ReadOutputAs<long>());
        }
        finally
        {
            await two.DisposeAsync();
            await one.Provider.Clients.DeleteAsync();
        }
    }

    /// <summary>A fan-out of squares (each counted by <paramref name="counted"/>) and a parent running three children.</summary>
    private static void Register(Microsoft.DurableTask.DurableTaskRegistry registry, Action counted) => registry
        .AddActivityFunc<int, long>("Square", (_, x) =>
        {
            counted();
            return (long)x * x;
        })
        .AddOrchestratorFunc<int, long>("FanOutFanIn", async (context, count) =>
        {
            var squares = await Task.WhenAll(Enumerable.Range(0, count).Select(i => context.CallActivityAsync<long>("Square", i)));
            return squares.Sum();
        })
        .AddOrchestratorFunc<int, long>("Child", (context, x) => context.CallActivityAsync<long>("Square", x))
        .AddOrchestratorFunc<int, long>("Parent", async (context, x) =>
        {
            long total = 0;
            for (var i = 0; i < 3; i++)
            {
                total += await context.CallSubOrchestratorAsync<long>("Child", x);
            }

            return total;
        });
}
