using Workflows.Durable.Storage;
using Workflows.Testing;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// The storage contract on the Azure Storage task hub. Orchestrations end to end on this hub run under the official SDK
/// in tests/Workflows.DurableTask.Tests (TaskHubConformanceTests) and in this project's SDK tests.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureStorageProviderConformanceTests(AzuriteFixture azurite) : StorageProviderConformanceTests
{
    protected override Task<IStorageProvider> CreateProviderAsync() => FreshHub.CreateAsync(azurite);

    protected override Task DisposeProviderAsync(IStorageProvider provider) => FreshHub.DeleteAsync(provider);
}

/// <summary>A provider on a new, uniquely named task hub, and its removal.</summary>
internal static class FreshHub
{
    public static Task<IStorageProvider> CreateAsync(AzuriteFixture azurite) =>
        Task.FromResult<IStorageProvider>(new AzureStorageProvider(azurite.NewHub()));

    public static async Task DeleteAsync(IStorageProvider provider)
    {
        var azure = (AzureStorageProvider)provider;
        await azure.DisposeAsync();
        await azure.Clients.DeleteAsync();
    }
}
