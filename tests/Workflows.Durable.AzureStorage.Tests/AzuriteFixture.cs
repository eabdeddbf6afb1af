using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Azurite for the tests of this assembly: installed from package.json with <c>npm ci</c> when missing, run in
/// memory on free ports, stopped afterwards. Nothing needs starting by hand.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? _azurite;

    /// <summary>Connection string of the running emulator.</summary>
    public string ConnectionString => _azurite?.ConnectionString ?? throw new InvalidOperationException("Azurite is not running.");

    public async Task InitializeAsync() =>
        _azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    /// <summary>Options for a fresh task hub with a unique name, so tests never share state.</summary>
    public AzureStorageOptions NewHub(int partitionCount = 4) => new()
    {
        ConnectionString = ConnectionString,
        TaskHubName = "t" + Guid.NewGuid().ToString("N")[..20],
        PartitionCount = partitionCount,
    };
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
