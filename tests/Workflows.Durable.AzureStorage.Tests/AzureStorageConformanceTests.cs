using Workflows.Durable.Conformance;
using Workflows.Durable.Storage;
using Workflows.Testing;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class AzureStorageProviderConformanceTests(AzuriteFixture azurite) : StorageProviderConformanceTests
{
    protected override Task<IStorageProvider> CreateProviderAsync() => FreshHub.CreateAsync(azurite);

    protected override Task DisposeProviderAsync(IStorageProvider provider) => FreshHub.DeleteAsync(provider);
}

[Collection(AzuriteCollection.Name)]
public sealed class AzureStorageOrchestrationConformanceTests(AzuriteFixture azurite) : OrchestrationConformanceTests
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
