using Workflows.Testing;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// A worker under the name of one that died holding its leases renews them at once; a worker under another name waits
/// for them to expire. (The host makes sure two live workers never share a name.)
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WorkerIdentityLeaseTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task SameWorkerId_TakesItsLeasesBackAtOnce_AnotherWaits()
    {
        var hub = azurite.NewHub(partitionCount: 2);
        hub.WorkerId = "worker-" + Guid.NewGuid().ToString("N");
        var previousRun = new AzureStorageProvider(hub);
        var sameName = new AzureStorageProvider(hub);
        var otherName = new AzureStorageProvider(new AzureStorageOptions
        {
            ConnectionString = hub.ConnectionString,
            TaskHubName = hub.TaskHubName,
            PartitionCount = hub.PartitionCount,
            WorkerId = "other-" + Guid.NewGuid().ToString("N"),
        });
        try
        {
            await previousRun.CreateIfNotExistsAsync();
            await StartPollingAsync(previousRun);
            Assert.Equal(2, previousRun.OwnedPartitions.Count);

            // The previous run is not disposed (it "died" holding its 60-s leases).
            await StartPollingAsync(otherName);
            Assert.Empty(otherName.OwnedPartitions);
            await otherName.DisposeAsync(); // gone, so the next worker's share is every partition
            await StartPollingAsync(sameName);
            Assert.Equal([0, 1], sameName.OwnedPartitions.Order());
        }
        finally
        {
            await otherName.DisposeAsync();
            await sameName.DisposeAsync();
            await previousRun.DisposeAsync();
            await previousRun.Clients.DeleteAsync();
        }
    }

    [Fact]
    public void LeaseId_IsTheSameGuidForTheSameName_AndDiffersForAnother()
    {
        var id = PartitionLeaseManager.LeaseIdOf("host-a-1");
        Assert.Equal(id, PartitionLeaseManager.LeaseIdOf("host-a-1"));
        Assert.NotEqual(id, PartitionLeaseManager.LeaseIdOf("host-a-2"));
        Assert.True(Guid.TryParse(id, out _));
    }

    /// <summary>Starting takes a first share of the leases.</summary>
    private static Task StartPollingAsync(AzureStorageProvider provider) => provider.EnsureStartedAsync(CancellationToken.None);
}
