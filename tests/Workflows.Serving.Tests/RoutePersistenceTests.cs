using System.Net;
using System.Text.Json.Nodes;
using Workflows.Serving.Routing;
using Xunit;

namespace Workflows.Serving.Tests;

/// <summary>Each model's routing is stored beside the registry and restored by the next instance of the service.</summary>
public sealed class RoutePersistenceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("wf-serving-routes-").FullName;

    [Fact]
    public async Task PromotedVersion_IsStillStable_AfterARestart()
    {
        await using (var first = await ServingHost.StartAsync(_root, logs: null, SeedTwoVersionsAsync))
        {
            var promote = await first.PostAsync("admin/models/m/promote", new JsonObject { ["version"] = 2 }, first.Admin);
            Assert.Equal(HttpStatusCode.OK, promote.Response.StatusCode);
        }

        await using var second = await ServingHost.StartAsync(_root, logs: null);
        var routing = (await second.GetAsync("admin/models/m", second.Admin)).Body["routing"]!;
        var answer = await second.PostAsync("v2/models/m/infer", ServingHost.V2Request(TestModels.Rows(1), 1), requestKey: "alice");

        Assert.Equal(2, (int)routing["stable"]!);
        Assert.Null(routing["candidate"]);
        Assert.Equal([1], routing["previousStable"]!.AsArray().Select(v => (int)v!));
        Assert.Equal("2", (string)answer.Body["model_version"]!);
    }

    [Fact]
    public async Task CorruptRoutingDocument_FallsBackToTheFirstVersion_WithALogThatSaysWhy()
    {
        var registry = new Workflows.ML.Registry.LocalFolderModelRegistry(Path.Combine(_root, "models"));
        await SeedTwoVersionsAsync(registry);
        var document = Path.Combine(_root, "models", "m", RouteDocument.FileName);
        await File.WriteAllTextAsync(document, "{ \"stable\": 2, \"candid");
        var logs = new RecordingLogs();

        await using var host = await ServingHost.StartAsync(_root, logs);
        var ready = await host.GetAsync("v2/health/ready");
        var routing = (await host.GetAsync("admin/models/m", host.Admin)).Body["routing"]!;

        Assert.Equal(HttpStatusCode.OK, ready.Response.StatusCode);
        Assert.Equal(1, (int)routing["stable"]!);
        Assert.Contains(logs.Messages, m => m.Contains($"routing in {document} not restored", StringComparison.Ordinal) && m.Contains("not a routing document", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StoredTable_NamingAVersionNoLongerInTheRegistry_IsNotRestored()
    {
        var registry = new Workflows.ML.Registry.LocalFolderModelRegistry(Path.Combine(_root, "models"));
        await SeedTwoVersionsAsync(registry);
        await new FolderRouteStore(Path.Combine(_root, "models")).WriteAsync("m", RouteTable.StableOnly(7), CancellationToken.None);
        var logs = new RecordingLogs();

        await using var host = await ServingHost.StartAsync(_root, logs);
        var routing = (await host.GetAsync("admin/models/m", host.Admin)).Body["routing"]!;

        Assert.Equal(1, (int)routing["stable"]!);
        Assert.Contains(logs.Messages, m => m.Contains("stable version 7 is not in the registry", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FolderStore_WritesWholeDocuments_AndReadsThemBack()
    {
        var store = new FolderRouteStore(_root);
        Directory.CreateDirectory(Path.Combine(_root, "m"));
        var table = new RouteTable(3, 4, 0.25, 2, 0.1, [2, 1]);

        await store.WriteAsync("m", RouteTable.StableOnly(1), CancellationToken.None);
        await store.WriteAsync("m", table, CancellationToken.None);
        var read = await store.ReadAsync("m", CancellationToken.None);

        AssertSameTable(table, read);
        Assert.Equal([RouteDocument.FileName], Directory.GetFiles(Path.Combine(_root, "m")).Select(Path.GetFileName));
        Assert.Null(await store.ReadAsync("other", CancellationToken.None));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Every field of the table read back equals the one written.</summary>
    internal static void AssertSameTable(RouteTable expected, RouteTable? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Stable, actual.Stable);
        Assert.Equal(expected.Candidate, actual.Candidate);
        Assert.Equal(expected.CandidateWeight, actual.CandidateWeight);
        Assert.Equal(expected.Shadow, actual.Shadow);
        Assert.Equal(expected.ShadowShare, actual.ShadowShare);
        Assert.Equal(expected.PreviousStable, actual.PreviousStable);
    }

    internal static async Task SeedTwoVersionsAsync(Workflows.ML.Registry.IModelRegistry registry)
    {
        await TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx());
        await TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx(scale: -1f));
    }
}
