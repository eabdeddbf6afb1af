using System.Net;
using System.Text.Json.Nodes;
using Workflows.Serving.Routing;
using Xunit;

namespace Workflows.Serving.Tests;

/// <summary>Stable/candidate routing: sticky keys, the weight split, admin changes, hot swap under load, failed loads, feedback.</summary>
public sealed class RoutingTests
{
    [Fact]
    public void Choose_OverManyKeys_SplitsByTheWeightWithinTolerance_AndKeepsEachKeyOnItsVersion()
    {
        var table = new RouteTable(1, 2, 0.2, null, 0, []);
        var keys = Enumerable.Range(0, 20_000).Select(i => "user-" + i).ToArray();

        var first = keys.Select(key => table.Choose(StableHash.Of(key))).ToArray();
        var again = keys.Select(key => table.Choose(StableHash.Of(key))).ToArray();
        var wider = table with { CandidateWeight = 0.5 };

        Assert.Equal(first, again);
        Assert.InRange(first.Count(v => v == 2) / (double)keys.Length, 0.19, 0.21);
        // Raising the weight only moves keys from stable to candidate: a candidate key stays there.
        Assert.All(keys.Where((_, i) => first[i] == 2), key => Assert.Equal(2, wider.Choose(StableHash.Of(key))));
        Assert.InRange(keys.Count(key => wider.Choose(StableHash.Of(key)) == 2) / (double)keys.Length, 0.49, 0.51);
    }

    [Fact]
    public void StableHash_IsTheSameInEveryProcess()
    {
        // Golden values: a change here moves every sticky key to another bucket.
        // (FNV-1a over the UTF-16 bytes, then SplitMix64's finalizer, computed independently.)
        Assert.Equal(0x18F6993A26D8089FUL, StableHash.Of("user-1"));
        Assert.Equal(0xF52A15E9A9B5E89BUL, StableHash.Of(string.Empty));
        Assert.NotEqual(StableHash.Of("a"), StableHash.Of("b"));
    }

    [Fact]
    public void Mirrors_SamplesTheShadowShareIndependentlyOfTheSplit()
    {
        var table = new RouteTable(1, 2, 0.5, 3, 0.1, []);
        var hashes = Enumerable.Range(0, 20_000).Select(i => StableHash.Of("k" + i)).ToArray();

        var mirrored = hashes.Where(table.Mirrors).ToArray();

        Assert.InRange(mirrored.Length / (double)hashes.Length, 0.09, 0.11);
        Assert.InRange(mirrored.Count(h => table.Choose(h) == 2) / (double)mirrored.Length, 0.45, 0.55);
    }

    [Fact]
    public async Task NewVersion_WaitsAsCandidate_ThenAdminWeightsPromotesAndRollsBack()
    {
        await using var host = await ServingHost.StartAsync(registry => TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx()));
        await TestModels.RegisterAsync(host.Registry, "m", "onnx", TestModels.LinearOnnx(scale: -1f));
        var refresh = await host.PostAsync("admin/refresh", new JsonObject(), host.Admin);
        var request = ServingHost.V2Request(TestModels.Rows(1), 1);

        var beforeWeight = await host.PostAsync("v2/models/m/infer", request, requestKey: "alice");
        var denied = await host.PostAsync("admin/models/m/promote", new JsonObject());
        var traffic = await PutAsync(host, "admin/models/m/traffic", new JsonObject { ["candidate"] = 2, ["weight"] = 1.0 });
        var afterWeight = await host.PostAsync("v2/models/m/infer", request, requestKey: "alice");
        var promote = await host.PostAsync("admin/models/m/promote", new JsonObject(), host.Admin);
        var rollback = await host.PostAsync("admin/models/m/rollback", new JsonObject(), host.Admin);
        var afterRollback = await host.PostAsync("v2/models/m/infer", request, requestKey: "alice");

        Assert.Equal(1, (int)refresh.Body["loaded"]!);
        Assert.Equal("1", (string)beforeWeight.Body["model_version"]!);
        Assert.Equal(HttpStatusCode.Unauthorized, denied.Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, traffic.StatusCode);
        Assert.Equal("2", (string)afterWeight.Body["model_version"]!);
        Assert.Equal(2, (int)promote.Body["routing"]!["stable"]!);
        Assert.Equal(1, (int)rollback.Body["routing"]!["stable"]!);
        Assert.Equal("1", (string)afterRollback.Body["model_version"]!);
    }

    [Fact]
    public async Task VersionThatFailsToLoad_LeavesThePreviousServing_AndReportsWhy()
    {
        await using var host = await ServingHost.StartAsync(registry => TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx()));
        await TestModels.RegisterAsync(host.Registry, "m", "onnx", [1, 2, 3, 4]);
        await host.Catalog.RefreshAsync(CancellationToken.None);

        var (inferResponse, infer) = await host.PostAsync("v2/models/m/infer", ServingHost.V2Request(TestModels.Rows(1), 1));
        var (_, meta) = await host.GetAsync("v2/models/m");
        var (versionResponse, version) = await host.GetAsync("v2/models/m/versions/2/ready");
        var promote = await host.PostAsync("admin/models/m/promote", new JsonObject { ["version"] = 2 }, host.Admin);

        Assert.Equal(HttpStatusCode.OK, inferResponse.StatusCode);
        Assert.Equal("1", (string)infer["model_version"]!);
        Assert.Equal("2", (string)meta["failed"]![0]!["version"]!);
        Assert.Contains("ONNX Runtime cannot load", (string)meta["failed"]![0]!["error"]!, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, versionResponse.StatusCode);
        Assert.False((bool)version["ready"]!);
        Assert.Equal(HttpStatusCode.Conflict, promote.Response.StatusCode);
    }

    [Fact]
    public async Task HotSwap_UnderConcurrentLoad_FailsNoRequest()
    {
        await using var host = await ServingHost.StartAsync(
            registry => TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx()),
            "--Serving:CacheEntries=0");
        using var stop = new CancellationTokenSource();
        var versions = new System.Collections.Concurrent.ConcurrentBag<string>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var stableAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var load = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested || i < 20; i++)
            {
                var (response, body) = await host.PostAsync("v2/models/m/infer", ServingHost.V2Request(TestModels.Rows(1, seed: i), 1));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{response.StatusCode}: {body.ToJsonString()}");
                }
                else
                {
                    versions.Add((string)body["model_version"]!);
                    stableAnswered.TrySetResult();
                }
            }
        })).ToArray();

        // The swap happens while requests are in flight: wait until the load has been answered by the stable version.
        await stableAnswered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await TestModels.RegisterAsync(host.Registry, "m", "onnx", TestModels.LinearOnnx(scale: 2f));
        await host.Catalog.RefreshAsync(CancellationToken.None);
        var promote = await host.PostAsync("admin/models/m/promote", new JsonObject(), host.Admin);
        var after = await host.PostAsync("v2/models/m/infer", ServingHost.V2Request(TestModels.Rows(1), 1));
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.Empty(failures);
        Assert.Equal(HttpStatusCode.OK, promote.Response.StatusCode);
        Assert.Equal("2", (string)after.Body["model_version"]!);
        Assert.Contains("1", versions);
    }

    [Fact]
    public async Task Feedback_GivesLiveAccuracyPerVersion()
    {
        await using var host = await ServingHost.StartAsync(registry => TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx()));
        var (_, answer) = await host.PostAsync("v2/models/m/infer", ServingHost.V2Request(TestModels.Rows(2), 2, id: "r-1"));
        var labels = answer["outputs"]![1]!["data"]!.AsArray().Select(v => (long)v!).ToArray();

        var feedback = new JsonObject
        {
            ["feedback"] = new JsonArray(
                new JsonObject { ["id"] = "r-1", ["labels"] = new JsonArray(labels[0], 1 - labels[1]) },
                new JsonObject { ["id"] = "never-seen", ["labels"] = new JsonArray(1) }),
        };
        var (_, accepted) = await host.PostAsync("v2/models/m/feedback", feedback);
        var (_, metrics) = await host.GetAsync("admin/models/m/metrics?window=60", host.Admin);

        Assert.Equal(1, (int)accepted["accepted"]!);
        Assert.Equal("never-seen", (string)accepted["unknown"]![0]!);
        var figures = metrics["versions"]![0]!["figures"]!;
        Assert.Equal(2, (long)figures["labelledRows"]!);
        Assert.Equal(0.5, (double)figures["accuracy"]!);
        Assert.Equal(1, (long)figures["requests"]!);
    }

    [Fact]
    public async Task Metrics_FromTo_GivesEachVersionsFiguresAndLatencyHistogramForThatWindow()
    {
        await using var host = await ServingHost.StartAsync(registry => TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx()));
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        for (var i = 0; i < 3; i++)
        {
            _ = await host.PostAsync("v2/models/m/infer", ServingHost.V2Request(TestModels.Rows(1), 1));
        }

        var after = DateTimeOffset.UtcNow.AddSeconds(2);
        var (ok, window) = await host.GetAsync($"admin/models/m/metrics?from={Uri.EscapeDataString(before.ToString("O"))}&to={Uri.EscapeDataString(after.ToString("O"))}", host.Admin);
        var (earlier, empty) = await host.GetAsync($"admin/models/m/metrics?from={Uri.EscapeDataString(before.AddSeconds(-30).ToString("O"))}&to={Uri.EscapeDataString(before.AddSeconds(-20).ToString("O"))}", host.Admin);
        var (bad, _) = await host.GetAsync("admin/models/m/metrics?from=yesterday", host.Admin);
        var (backwards, _) = await host.GetAsync($"admin/models/m/metrics?from={Uri.EscapeDataString(after.ToString("O"))}&to={Uri.EscapeDataString(before.ToString("O"))}", host.Admin);

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var version = window["versions"]![0]!;
        Assert.Equal(3, (long)version["figures"]!["requests"]!);
        Assert.False((bool)version["complete"]!); // "to" is still ahead
        Assert.Equal(3, version["histogram"]!.AsArray().Sum(b => (long)b!["count"]!));
        Assert.Equal(HttpStatusCode.OK, earlier.StatusCode);
        Assert.Equal(0, (long)empty["versions"]![0]!["figures"]!["requests"]!);
        Assert.Empty(empty["versions"]![0]!["histogram"]!.AsArray());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, backwards.StatusCode);
    }

    private static async Task<HttpResponseMessage> PutAsync(ServingHost host, string path, JsonObject body)
    {
        using var content = System.Net.Http.Json.JsonContent.Create(body);
        return await host.Admin.PutAsync(path, content);
    }
}
