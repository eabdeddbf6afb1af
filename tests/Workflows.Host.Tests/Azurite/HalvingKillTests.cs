using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Workflows.Host.Azurite;
using Workflows.ML.Data;
using Xunit;
using static Workflows.Host.Tests.Azurite.HistoryEvents;
using Xunit.Abstractions;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// HalvingSearch killed mid-rung for real: the host executable running the function app (as `./run.sh` runs it) generates a
/// dataset and starts a successive-halving search over HTTP; once the first rung has some but not all of its
/// evaluations finished, the host gets SIGKILL. A second host resumes the search to exactly the decisions and scores of
/// an uninterrupted run of the same input, with every evaluation scheduled once and completed once in the history.
/// Linux only (signals, /proc).
/// </summary>
[Collection(RepositoryRootHosts.Name)]
public sealed class HalvingKillTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Killed = "halving-kill";
    private const string Reference = "halving-reference";
    private const int Candidates = 9;

    /// <summary>Rows of the dataset: rungs of 1,500, 4,500 and 13,500 rows (factor 3, <c>minResources: exhaust</c>).</summary>
    private const int Rows = 13_500;

    /// <summary>
    /// Most time from the second host's start to the completion of both the resumed search and the uninterrupted one
    /// it runs beside it; a bound, not an expectation (measured: 14 to 41 s on a loaded 2-core machine, the 10-s wait for
    /// the messages the killed host held included).
    /// </summary>
    private static readonly TimeSpan ResumeBound = TimeSpan.FromSeconds(120);

    private readonly string _data = Directory.CreateTempSubdirectory("workflows-halving-kill-").FullName;
    private readonly FunctionAppProcesses _app = new();

    private static object Search => new
    {
        dataset = "search",
        labelColumn = "label",
        learner = "gradient_boosting",
        space = new
        {
            parameters = new object[]
            {
                new { name = "n_estimators", kind = "IntRange", min = 20, max = 60 },
                new { name = "max_depth", kind = "IntRange", min = 2, max = 5 },
                new { name = "learning_rate", kind = "LogUniform", min = 0.01, max = 0.5 },
            },
        },
        mode = "halving",
        seed = 7,
        nCandidates = Candidates,
        factor = 3,
        minResources = "exhaust",
        folds = 3,
    };

    [Fact]
    public async Task KilledMidRung_NextHostResumesToTheDecisionsOfAnUninterruptedRun_WithEveryEvaluationOnce()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var total = Stopwatch.StartNew();
        var httpPort = AzuriteProcess.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/"), Timeout = TimeSpan.FromMinutes(2) };

        // Two evaluations at a time on the first host: the first rung's nine finish a couple at a time, so a poll sees it
        // part done.
        var first = await _app.StartHostAsync(httpPort, http, new Dictionary<string, string>
        {
            [DataRoot.Setting] = _data,
            ["AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions"] = "2",
        });
        await StartAsync(http, "GenerateDataset", "dataset", new { rows = Rows, features = 8, informative = 4, chunkRows = Rows / 3, seed = 11, destination = "search" });
        var generated = await _app.EventuallyAsync(http, "dataset", TestHost.IsFinished, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(100));
        Assert.Equal("Completed", generated.GetProperty("runtimeStatus").GetString());

        await StartAsync(http, "HalvingSearch", Killed, Search);
        var midRung = await _app.EventuallyAsync(
            http, Killed, s => TestHost.IsFinished(s) || Progress(s) is { } p && (p.Round > 0 || p.Completed > 0), TimeSpan.FromMinutes(3), TimeSpan.FromMilliseconds(100));
        var seen = Progress(midRung) ?? (Round: -1, Completed: 0);
        Assert.True(
            seen is (0, > 0 and < Candidates),
            $"the poll did not see the first rung part done (status: {midRung.GetProperty("customStatus")}); the kill would not land mid-rung");
        first.Kill(entireProcessTree: false); // SIGKILL to the host alone
        await first.WaitForExitAsync();
        var killedAt = DateTime.UtcNow;
        output.WriteLine($"killed {total.Elapsed.TotalSeconds:F1} s into the test, with {seen.Completed} of the first rung's {Candidates} evaluations finished");

        // The second host runs as shipped; it resumes the killed search and runs the same input uninterrupted beside it.
        var restart = Stopwatch.StartNew();
        await _app.StartHostAsync(httpPort, http, new Dictionary<string, string> { [DataRoot.Setting] = _data });
        await StartAsync(http, "HalvingSearch", Reference, Search);
        var both = await Task.WhenAll(CompletionAsync(Killed), CompletionAsync(Reference));
        var (resumed, reference) = (both[0].Status, both[1].Status);
        output.WriteLine(
            $"the killed search completed {both[0].After.TotalSeconds:F1} s and the uninterrupted one {both[1].After.TotalSeconds:F1} s after the second host was started");
        Assert.Equal("Completed", resumed.GetProperty("runtimeStatus").GetString());
        Assert.Equal("Completed", reference.GetProperty("runtimeStatus").GetString());

        // The same decisions and scores, to the bit: cv_results_, ranking, winner, its parameters and score, the rounds.
        var result = resumed.GetProperty("output");
        Assert.Equal(reference.GetProperty("output").GetRawText(), result.GetRawText());
        Assert.Equal(reference.GetProperty("customStatus").GetProperty("rounds").GetRawText(), resumed.GetProperty("customStatus").GetProperty("rounds").GetRawText());
        Assert.Equal(new[] { Candidates, 3, 1 }, result.GetProperty("nCandidates").EnumerateArray().Select(n => n.GetInt32()));
        Assert.Equal(new[] { Rows / 9, Rows / 3, Rows }, result.GetProperty("nResources").EnumerateArray().Select(n => n.GetInt32()));
        Assert.True(result.GetProperty("bestScore").GetDouble() > 0.8, $"best score {result.GetProperty("bestScore")}");

        // What the killed host reported before it died stands in the final results.
        var cv = result.GetProperty("cvResults");
        foreach (var score in midRung.GetProperty("customStatus").GetProperty("scores").EnumerateArray())
        {
            var row = Rows0(cv).Single(r => cv.GetProperty("candidate")[r].GetInt32() == score.GetProperty("candidate").GetInt32());
            Assert.Equal(score.GetProperty("score").GetDouble(), cv.GetProperty("mean_test_score")[row].GetDouble());
        }

        // The history, event by event: one execution; the data described once; every evaluation (candidate at resource,
        // all folds, named by its input) scheduled once and completed once; nothing failed and nothing left scheduled.
        var history = (await FunctionAppProcesses.StatusAsync(http, Killed, "showInput=true&showHistory=true")).GetProperty("historyEvents").EnumerateArray().ToList();
        Assert.Equal(1, history.Count(e => Type(e) == "ExecutionStarted"));
        Assert.Equal(new[] { "Completed" }, history.Where(e => Type(e) == "ExecutionCompleted").Select(e => e.GetProperty("OrchestrationStatus").GetString()));
        Assert.DoesNotContain(history, e => Type(e) is "TaskFailed" or "TaskScheduled");
        Assert.Single(history, e => Type(e) == "TaskCompleted" && Function(e) == "SearchDescribeData");
        var evaluations = history.Where(e => Type(e) == "TaskCompleted" && Function(e) == "SearchEvaluateCandidate").ToList();
        var expected = Enumerable.Range(0, cv.GetProperty("candidate").GetArrayLength())
            .Select(r => Key(cv.GetProperty("params")[r], cv.GetProperty("n_resources")[r].GetInt32()))
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, evaluations.Select(e => Key(e.GetProperty("Input").GetProperty("request"))).Order(StringComparer.Ordinal));
        Assert.Equal(evaluations.Count, result.GetProperty("evaluations").GetInt32());
        Assert.All(evaluations.Select(e => e.GetProperty("Input").GetProperty("request")), r => Assert.Equal((3, 7), (r.GetProperty("folds").GetInt32(), r.GetProperty("seed").GetInt32())));

        // The kill did land mid-rung: first-rung evaluations completed on both sides of it.
        var firstRung = evaluations.Where(e => e.GetProperty("Input").GetProperty("request").GetProperty("resource").GetProperty("amount").GetInt32() == Rows / 9).ToList();
        var before = firstRung.Count(e => Time(e) < killedAt);
        Assert.Equal(Candidates, firstRung.Count);
        Assert.InRange(before, seen.Completed, Candidates - 1);
        output.WriteLine($"{before} first-rung evaluations completed before the kill and {Candidates - before} after; {total.Elapsed.TotalSeconds:F1} s in all");

        async Task<(JsonElement Status, TimeSpan After)> CompletionAsync(string instanceId)
        {
            var status = await _app.EventuallyAsync(http, instanceId, TestHost.IsFinished, ResumeBound, TimeSpan.FromMilliseconds(250));
            return (status, restart.Elapsed);
        }
    }

    private static async Task StartAsync(HttpClient http, string orchestrator, string instanceId, object input)
    {
        using var start = await http.PostAsync(new Uri($"api/orchestrators/{orchestrator}/{instanceId}", UriKind.Relative), JsonContent.Create(input));
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
    }

    /// <summary>The round and the evaluations finished in it, from a halving search's <c>customStatus</c>; null before the first round.</summary>
    private static (int Round, int Completed)? Progress(JsonElement status) =>
        status.TryGetProperty("customStatus", out var custom) && custom.ValueKind == JsonValueKind.Object && custom.GetProperty("round").ValueKind == JsonValueKind.Number
            ? (custom.GetProperty("round").GetInt32(), custom.GetProperty("completed").GetInt32())
            : null;

    private static IEnumerable<int> Rows0(JsonElement cv) =>
        Enumerable.Range(0, cv.GetProperty("iter").GetArrayLength()).Where(r => cv.GetProperty("iter")[r].GetInt32() == 0);

    /// <summary>An evaluation request's identity: its parameters and its resource.</summary>
    private static string Key(JsonElement request) =>
        Key(request.GetProperty("parameters"), request.GetProperty("resource").GetProperty("amount").GetInt32());

    private static string Key(JsonElement parameters, int resource) =>
        string.Join(", ", parameters.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name}={p.Value.GetDouble():R}")))
        + string.Create(CultureInfo.InvariantCulture, $" at {resource}");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        output.WriteLine(_app.Logs());
        await _app.CleanUpAsync();
        Directory.Delete(_data, recursive: true);
    }
}
