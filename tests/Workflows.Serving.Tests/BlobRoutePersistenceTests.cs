using System.Net;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Workflows.ML.AzureStorage;
using Workflows.Serving.Routing;
using Workflows.Testing;
using Xunit;

namespace Workflows.Serving.Tests;

/// <summary>
/// With the registry in a Blob container (here Azurite's), each model's routing is stored in that container beside
/// the model's versions, and restored from it by the next instance of the service.
/// </summary>
public sealed class BlobRoutePersistenceTests : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly string _connectionString;
    private readonly string _containerName = "models-" + Guid.NewGuid().ToString("N")[..16];
    private readonly BlobContainerClient _container;
    private readonly string _root = Directory.CreateTempSubdirectory("wf-serving-blob-routes-").FullName;

    public BlobRoutePersistenceTests(AzuriteFixture azurite)
    {
        ArgumentNullException.ThrowIfNull(azurite);
        _connectionString = azurite.ConnectionString;
        _container = new BlobContainerClient(_connectionString, _containerName);
    }

    [Fact]
    public async Task PromotedVersion_IsStillStable_AfterARestart_AndTheTableLivesInTheRegistryContainer()
    {
        await RoutePersistenceTests.SeedTwoVersionsAsync(new BlobModelRegistry(_container));
        await using (var first = await StartAsync(logs: null))
        {
            var promote = await first.PostAsync("admin/models/m/promote", new JsonObject { ["version"] = 2 }, first.Admin);
            Assert.Equal(HttpStatusCode.OK, promote.Response.StatusCode);
        }

        await using var second = await StartAsync(logs: null);
        var routing = (await second.GetAsync("admin/models/m", second.Admin)).Body["routing"]!;
        var answer = await second.PostAsync("v2/models/m/infer", ServingHost.V2Request(TestModels.Rows(1), 1), requestKey: "alice");

        Assert.Equal(2, (int)routing["stable"]!);
        Assert.Equal([1], routing["previousStable"]!.AsArray().Select(v => (int)v!));
        Assert.Equal("2", (string)answer.Body["model_version"]!);
        Assert.True((await _container.GetBlobClient($"m/{RouteDocument.FileName}").ExistsAsync()).Value);
        Assert.Empty(Directory.GetFiles(_root, RouteDocument.FileName, SearchOption.AllDirectories));
    }

    [Fact]
    public async Task BlobStore_WritesWholeDocuments_AndReadsThemBack()
    {
        await _container.CreateAsync();
        var store = new BlobRouteStore(_container, NullLogger.Instance);
        var table = new RouteTable(3, 4, 0.25, 2, 0.1, [2, 1]);

        Assert.Null(await store.ReadAsync("m", CancellationToken.None));
        await store.WriteAsync("m", RouteTable.StableOnly(1), CancellationToken.None);
        await store.WriteAsync("m", table, CancellationToken.None);
        var read = await new BlobRouteStore(_container, NullLogger.Instance).ReadAsync("m", CancellationToken.None);

        RoutePersistenceTests.AssertSameTable(table, read);
    }

    [Fact]
    public async Task BlobStore_ATableChangedByAnotherReplica_IsReplacedByTheNewestChange_AndTheConflictLogged()
    {
        await _container.CreateAsync();
        using var logs = new RecordingLogs();
        var replicaA = new BlobRouteStore(_container, logs.CreateLogger("a"));
        var replicaB = new BlobRouteStore(_container, logs.CreateLogger("b"));
        await replicaA.WriteAsync("m", RouteTable.StableOnly(1), CancellationToken.None);
        Assert.Equal(1, (await replicaB.ReadAsync("m", CancellationToken.None))!.Stable);

        await replicaA.WriteAsync("m", RouteTable.StableOnly(2), CancellationToken.None);
        Assert.Empty(logs.Messages);
        await replicaB.WriteAsync("m", RouteTable.StableOnly(3), CancellationToken.None);

        Assert.Equal(3, (await new BlobRouteStore(_container, NullLogger.Instance).ReadAsync("m", CancellationToken.None))!.Stable);
        Assert.Single(logs.Messages, m => m.Contains($"routing in blob {_containerName}/m/{RouteDocument.FileName} was changed by another instance", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BlobStore_AnUnreadableDocument_ThrowsNamingTheBlob()
    {
        await _container.CreateAsync();
        await _container.GetBlobClient($"m/{RouteDocument.FileName}").UploadAsync(BinaryData.FromString("{ \"stable\": 2, \"candid"));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => new BlobRouteStore(_container, NullLogger.Instance).ReadAsync("m", CancellationToken.None));

        Assert.Contains($"blob {_containerName}/m/{RouteDocument.FileName} is not a routing document", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _container.DeleteIfExists();
        Directory.Delete(_root, recursive: true);
    }

    private Task<ServingHost> StartAsync(ILoggerProvider? logs) =>
        ServingHost.StartAsync(
            _root,
            logs,
            seed: null,
            "--Serving:BlobConnectionString=" + _connectionString,
            "--Serving:BlobContainer=" + _containerName);
}
