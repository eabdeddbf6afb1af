using Workflows.Durable.Conformance;
using Workflows.Durable.Storage;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class AzureStorageProviderConformanceTests(AzuriteFixture azurite) : StorageProviderConformanceTests
{
    protected override Task<IStorageProvider> CreateProviderAsync() =>
        Task.FromResult<IStorageProvider>(new AzureStorageProvider(azurite.NewHub()));

    protected override async Task DisposeProviderAsync(IStorageProvider provider)
    {
        var azure = (AzureStorageProvider)provider;
        await azure.DisposeAsync();
        await azure.Clients.DeleteAsync();
    }
}

[Collection(AzuriteCollection.Name)]
public sealed class AzureStorageOrchestrationConformanceTests(AzuriteFixture azurite) : OrchestrationConformanceTests
{
    protected override Task<IStorageProvider> CreateProviderAsync() =>
        Task.FromResult<IStorageProvider>(new AzureStorageProvider(azurite.NewHub()));

    protected override async Task DisposeProviderAsync(IStorageProvider provider)
    {
        var azure = (AzureStorageProvider)provider;
        await azure.DisposeAsync();
        await azure.Clients.DeleteAsync();
    }
}
