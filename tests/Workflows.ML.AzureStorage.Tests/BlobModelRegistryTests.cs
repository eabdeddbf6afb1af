using Azure.Storage.Blobs;
using Workflows.ML.Registry;
using Workflows.Testing;
using Xunit;

namespace Workflows.ML.AzureStorage.Tests;

public sealed class BlobModelRegistryTests : ModelRegistryContract, IClassFixture<AzuriteFixture>
{
    private readonly BlobContainerClient _container;

    public BlobModelRegistryTests(AzuriteFixture azurite)
    {
        ArgumentNullException.ThrowIfNull(azurite);

        // A fresh container per test, so tests never see each other's models.
        _container = new BlobContainerClient(azurite.ConnectionString, "models-" + Guid.NewGuid().ToString("N")[..16]);
        Registry = new BlobModelRegistry(_container, Clock);
    }

    protected override IModelRegistry Registry { get; }

    [Fact]
    public async Task RegisterAsync_Layout_ManifestAndArtifactBlobsPerVersion()
    {
        await Registry.RegisterAsync(Registration("churn"), new byte[] { 1, 2 });

        var names = new List<string>();
        await foreach (var blob in _container.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        Assert.Equal(["churn/000001/manifest.json", "churn/000001/model.onnx"], names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task RegisterAsync_VersionClaimedByAnUnpublishedArtifact_SkipsIt()
    {
        await Registry.RegisterAsync(Registration("churn"), new byte[] { 1 });

        // What a registration that crashed between its artifact and its manifest leaves behind.
        await _container.GetBlobClient("churn/000002/model.onnx").UploadAsync(BinaryData.FromBytes([9]));
        var next = await Registry.RegisterAsync(Registration("churn"), new byte[] { 3 });

        Assert.Equal(3, next.Version);
        Assert.Equal([1, 3], (await Registry.ListVersionsAsync("churn")).Select(m => m.Version));
        Assert.Equal([3], await Registry.ReadArtifactAsync("churn", 3));
    }

    [Fact]
    public async Task ListNamesAsync_NoContainerYet_IsEmpty()
    {
        Assert.Empty(await Registry.ListNamesAsync());
        Assert.Null(await Registry.GetLatestAsync("churn"));
    }
}
