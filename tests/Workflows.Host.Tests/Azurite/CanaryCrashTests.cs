using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Workflows.Host.Azurite;
using Workflows.ML.Data;
using Workflows.Testing;
using Xunit;
using static Workflows.Host.Tests.Azurite.HistoryEvents;
using Xunit.Abstractions;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// The host executable running the product app on Azurite, killed with SIGKILL in the middle of a CanaryPromotion (the
/// candidate at its second step) while the real prediction service takes a steady load: the traffic stays where the
/// step put it while no host runs, the next host resumes the promotion at that same step (no step set again, none
/// skipped), and no request fails through the crash and the promotion. Linux only (signals).
/// </summary>
[Collection(RepositoryRootHosts.Name)]
public sealed class CanaryCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Model = "m";
    private const string InstanceId = "canary-crash";
    private const int Features = 4;
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    private readonly FunctionAppProcesses _app = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("canary-crash-").FullName;
    private InProcessServing _serving = null!;

    public async Task InitializeAsync() => _serving = await InProcessServing.StartAsync(_folder);

    public async Task DisposeAsync()
    {
        output.WriteLine(_app.Logs());
        await _serving.DisposeAsync();
        await _app.CleanUpAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_host_killed_mid_promotion_is_followed_by_one_that_resumes_at_the_same_step()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var httpPort = AzuriteProcess.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/"), Timeout = TimeSpan.FromMinutes(2) };
        var settings = new Dictionary<string, string> { [DataRoot.Setting] = _folder };
        foreach (var setting in _serving.AppSettings)
        {
            settings[setting[..setting.IndexOf('=', StringComparison.Ordinal)]] = setting[(setting.IndexOf('=', StringComparison.Ordinal) + 1)..];
        }

        var first = await _app.StartHostAsync(httpPort, http, settings);

        // Two versions of the model, trained on the same data with different seeds: 1 stable, 2 the candidate.
        await RunAsync(http, "GenerateDataset", "data", new { rows = 3_000, features = Features, informative = 3, chunkRows = 1_000, seed = 1, destination = "data" });
        await RunAsync(http, "EpochTraining", "v1", new { dataset = "data", labelColumn = "label", modelName = Model, epochs = 1, holdoutFraction = 0.34, seed = 1 });
        await RunAsync(http, "EpochTraining", "v2", new { dataset = "data", labelColumn = "label", modelName = Model, epochs = 1, holdoutFraction = 0.34, seed = 2 });
        await _serving.AdminAsync(HttpMethod.Post, "admin/refresh");
        _serving.StartLoad(Model, Features, center: 0);
        await _serving.WaitForAnswersAsync(40);

        await StartAsync(http, "CanaryPromotion", InstanceId, new
        {
            model = Model,
            candidateVersion = 2,
            steps = new[] { new { weight = 25, pause = "00:00:02" }, new { weight = 50, pause = "00:00:06" }, new { weight = 100, pause = "00:00:02" } },
            analysisInterval = "00:00:01",
            // A shared 2-core machine may starve the load for a window: thin windows are tolerated, never passed.
            checks = new[] { new { name = "error-rate", kind = "ErrorRate", threshold = 0.01, minSamples = 5, inconclusiveLimit = 4 } },
        });

        // The candidate at 50 % (its second step, index 1): kill the host alone, as a crash would.
        var atStep = await _app.EventuallyAsync(http, InstanceId, static s => TestHost.IsFinished(s) || Weight(s) == 50, Bound, TimeSpan.FromMilliseconds(50));
        Assert.False(TestHost.IsFinished(atStep), $"the promotion ended before the kill: {atStep}");
        first.Kill(entireProcessTree: false);
        await first.WaitForExitAsync();
        var killedAt = DateTime.UtcNow;

        // Nothing moves the traffic while no host runs: the candidate stays at its step's weight.
        var during = await _serving.RoutingAsync(Model);
        Assert.Equal((2, 0.5), (during["candidate"]!.GetValue<int>(), during["candidateWeight"]!.GetValue<double>()));

        await _app.StartHostAsync(httpPort, http, settings);
        var done = await _app.EventuallyAsync(http, InstanceId, TestHost.IsFinished, Bound, TimeSpan.FromMilliseconds(250));
        await _serving.StopLoadAsync();

        Assert.True(done.GetProperty("runtimeStatus").GetString() == "Completed", $"the promotion ended {done}");
        var result = done.GetProperty("output");
        Assert.Equal("Promoted", result.GetProperty("outcome").GetString());
        Assert.Equal([25, 50, 100], result.GetProperty("steps").EnumerateArray().Select(static s => s.GetProperty("weight").GetInt32()));
        var route = await _serving.RoutingAsync(Model);
        Assert.Equal((2, null), (route["stable"]!.GetValue<int>(), route["candidate"]?.GetValue<int>()));

        // The history, event by event: one execution; each weight set once, the first two before the kill and only the
        // last after it (the step under way at the kill went on, nothing before it ran again); no activity failed.
        var history = (await FunctionAppProcesses.StatusAsync(http, InstanceId, "showInput=false&showHistory=true&showHistoryOutput=true"))
            .GetProperty("historyEvents").EnumerateArray().ToList();
        Assert.Equal(1, history.Count(static e => Type(e) == "ExecutionStarted"));
        Assert.DoesNotContain(history, static e => Type(e) == "TaskFailed");
        var weights = history.Where(static e => Type(e) == "TaskCompleted" && e.GetProperty("FunctionName").GetString() == "CanarySetWeight").ToList();
        Assert.Equal([0.25, 0.5, 1.0], weights.Select(static e => e.GetProperty("Result").GetProperty("candidateWeight").GetDouble()));
        Assert.Equal([true, true, false], weights.Select(e => Time(e) < killedAt));
        Assert.Contains(history, e => Type(e) == "TaskCompleted" && e.GetProperty("FunctionName").GetString() == "CanaryAnalyzeWindow" && Time(e) > killedAt);

        Assert.True(_serving.Failed == 0, $"{_serving.Failed} of {_serving.Answered + _serving.Failed} requests failed through the crash and the promotion; the first: {_serving.FirstFailure}");
        output.WriteLine($"{_serving.Answered} requests answered, none failed");
    }

    private async Task RunAsync(HttpClient http, string orchestrator, string instanceId, object input)
    {
        await StartAsync(http, orchestrator, instanceId, input);
        var status = await _app.EventuallyAsync(http, instanceId, TestHost.IsFinished, Bound, TimeSpan.FromMilliseconds(100));
        Assert.True(status.GetProperty("runtimeStatus").GetString() == "Completed", $"{orchestrator} ended {status}");
    }

    private static async Task StartAsync(HttpClient http, string orchestrator, string instanceId, object input)
    {
        using var response = await http.PostAsync(
            new Uri($"api/orchestrators/{orchestrator}/{instanceId}", UriKind.Relative), new StringContent(JsonSerializer.Serialize(input), Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"start of {orchestrator}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The candidate's weight from CanaryPromotion's <c>customStatus</c>; -1 before there is one.</summary>
    private static int Weight(JsonElement status) =>
        status.TryGetProperty("customStatus", out var custom) && custom.ValueKind == JsonValueKind.Object && custom.TryGetProperty("weight", out var weight)
            ? weight.GetInt32()
            : -1;
}
