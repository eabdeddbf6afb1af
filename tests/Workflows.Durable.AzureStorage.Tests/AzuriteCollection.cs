using Workflows.Testing;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>The tests of this assembly that share one Azurite.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}

/// <summary>Task hubs on the shared Azurite.</summary>
internal static class AzuriteTaskHubs
{
    /// <summary>Options for a fresh task hub with a unique name, so tests never share state.</summary>
    public static AzureStorageOptions NewHub(this AzuriteFixture azurite, int partitionCount = 4) => new()
    {
        ConnectionString = azurite.ConnectionString,
        TaskHubName = "t" + Guid.NewGuid().ToString("N")[..20],
        PartitionCount = partitionCount,
    };
}
