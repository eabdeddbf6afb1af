using Workflows.Durable.Conformance;
using Workflows.Testing;
using Xunit;

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
        var providerOne = new AzureStorageProvider(hub);
        var providerTwo = new AzureStorageProvider(hub);
        try
        {
            await using var one = await WorkerHarness.StartAsync(providerOne, TestOrchestrations.RegisterAll);
            var two = await WorkerHarness.StartAsync(providerTwo, TestOrchestrations.RegisterAll);

            await Eventually.UntilAsync(() => providerOne.OwnedPartitions.Count == 2 && providerTwo.OwnedPartitions.Count == 2, TimeSpan.FromSeconds(45));
            Assert.Empty(providerOne.OwnedPartitions.Intersect(providerTwo.OwnedPartitions));

            var ids = new List<string>();
            for (var i = 0; i < 20; i++)
            {
                ids.Add(await one.Client.ScheduleNewOrchestrationInstanceAsync("FanOutFanIn", 100));
            }

            foreach (var id in ids)
            {
                var result = await one.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
                Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
                Assert.Equal(328350L, result.ReadOutputAs<long>());
            }

            Assert.True(one.Worker.Statistics.Episodes > 0 && two.Worker.Statistics.Episodes > 0, "both workers ran episodes");
            Assert.Empty(providerOne.OwnedPartitions.Intersect(providerTwo.OwnedPartitions));

            // The second worker stops and gives its leases back: the first takes every partition and keeps going.
            await two.DisposeAsync();
            await providerTwo.DisposeAsync();
            await Eventually.UntilAsync(() => providerOne.OwnedPartitions.Count == 4, TimeSpan.FromSeconds(45));
            var after = await one.RunAsync("Parent", 4);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, after.RuntimeStatus);
        }
        finally
        {
            await providerOne.DisposeAsync();
            await providerOne.Clients.DeleteAsync();
        }
    }
}
