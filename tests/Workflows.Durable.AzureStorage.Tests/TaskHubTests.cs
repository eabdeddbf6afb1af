using System.Text;
using Workflows.Testing;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

public sealed class TaskHubNamesTests
{
    [Theory]
    [InlineData("ab", "3 to 45 characters")]
    [InlineData("1hub", "must start with a letter")]
    [InlineData("my-hub", "only letters and digits; '-'")]
    [InlineData("hub_one", "'_' is not allowed")]
    public void Validate_RejectsBadNames_SayingWhy(string name, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => TaskHubNames.Validate(name));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_FollowTheDtfxLayout()
    {
        var names = new TaskHubNames("WorkflowsHub", 3);

        Assert.Equal("WorkflowsHubInstances", names.InstancesTable);
        Assert.Equal("WorkflowsHubHistory", names.HistoryTable);
        Assert.Equal("workflowshub-workitems", names.WorkItemQueue);
        Assert.Equal(["workflowshub-control-00", "workflowshub-control-01", "workflowshub-control-02"], names.ControlQueues);
        Assert.Equal("workflowshub-largemessages", names.LargeMessagesContainer);
        Assert.Equal("workflowshub-leases", names.LeasesContainer);
    }

    [Fact]
    public void PartitionOf_IsStableAcrossProcesses_AndSpreadsInstances()
    {
        // Values computed independently from the FNV-1a definition: the hash must never change, or running
        // instances would move to other control queues after an upgrade.
        Assert.Equal(1, TaskHubNames.PartitionOf("", 4));
        Assert.Equal(0, TaskHubNames.PartitionOf("a", 4));
        Assert.Equal(11, TaskHubNames.PartitionOf("instance-42", 16));
        Assert.Equal(13, TaskHubNames.PartitionOf("order-1", 16));

        var counts = new int[4];
        for (var i = 0; i < 4000; i++)
        {
            counts[TaskHubNames.PartitionOf(Guid.NewGuid().ToString("N"), 4)]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    public void Options_RejectPartitionCountOutOfRange(int partitions)
    {
        var options = new AzureStorageOptions { PartitionCount = partitions };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("partitionCount", error.Message, StringComparison.Ordinal);
    }
}

[Collection(AzuriteCollection.Name)]
public sealed class TaskHubResourceTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task CreateIfNotExists_CreatesEveryResource_AndIsIdempotent()
    {
        var clients = new TaskHubClients(azurite.NewHub(partitionCount: 2));

        await clients.CreateIfNotExistsAsync();
        await clients.CreateIfNotExistsAsync();

        Assert.True((await clients.WorkItems.ExistsAsync()).Value);
        Assert.All(clients.ControlQueues, q => Assert.True(q.Exists().Value));
        Assert.True((await clients.LargeMessages.ExistsAsync()).Value);
        Assert.True((await clients.Leases.ExistsAsync()).Value);
        var tables = new List<string>();
        await foreach (var table in clients.Tables.QueryAsync())
        {
            tables.Add(table.Name);
        }

        Assert.Contains(clients.Names.InstancesTable, tables);
        Assert.Contains(clients.Names.HistoryTable, tables);
        await clients.DeleteAsync();
    }

    [Fact]
    public async Task TransactionCounter_CountsEveryRequestPerService()
    {
        var clients = new TaskHubClients(azurite.NewHub(partitionCount: 1));
        await clients.CreateIfNotExistsAsync();
        var before = (clients.Counter.Tables, clients.Counter.Queues, clients.Counter.Blobs);

        await clients.WorkItems.SendMessageAsync("{}");
        await clients.Instances.UpsertEntityAsync(new Azure.Data.Tables.TableEntity("p", "r"));
        await clients.LargeMessages.ExistsAsync();

        Assert.Equal(before.Tables + 1, clients.Counter.Tables);
        Assert.Equal(before.Queues + 1, clients.Counter.Queues);
        Assert.Equal(before.Blobs + 1, clients.Counter.Blobs);
        Assert.Equal(clients.Counter.Tables + clients.Counter.Queues + clients.Counter.Blobs, clients.Counter.Total);
        await clients.DeleteAsync();
    }

    [Fact]
    public async Task LargePayload_OfOneMegabyte_RoundTripsCompressed_AndIsDeletedWithItsInstance()
    {
        var clients = new TaskHubClients(azurite.NewHub());
        await clients.CreateIfNotExistsAsync();
        var store = new LargePayloadStore(clients.LargeMessages);
        var payload = BuildJson(1024 * 1024);
        Assert.True(LargePayloadStore.NeedsBlob(payload));
        Assert.False(LargePayloadStore.NeedsBlob("\"small\""));

        var first = await store.StoreAsync("order/1", payload);
        var second = await store.StoreAsync("order/1", "\"x\"");
        var other = await store.StoreAsync("order-2", "\"y\"");

        Assert.Equal(payload, await store.LoadAsync(first));
        var stored = await clients.LargeMessages.GetBlobClient(first).GetPropertiesAsync();
        Assert.True(stored.Value.ContentLength < payload.Length / 4, $"compressed to {stored.Value.ContentLength} bytes");
        Assert.Equal(2, await store.DeleteInstanceAsync("order/1"));
        Assert.False((await clients.LargeMessages.GetBlobClient(second).ExistsAsync()).Value);
        Assert.Equal("\"y\"", await store.LoadAsync(other));
        await clients.DeleteAsync();
    }

    private static string BuildJson(int length)
    {
        var builder = new StringBuilder("[", length + 64);
        for (var i = 0; builder.Length < length; i++)
        {
            builder.Append("{\"row\":").Append(i).Append(",\"feature\":").Append((i % 97) * 0.5).Append("},");
        }

        builder.Append("{}]");
        return builder.ToString();
    }
}
