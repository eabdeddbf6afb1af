using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Workflows.Host.TaskHub;
using Workflows.Host.Timers;
using Workflows.ML.Data;
using Workflows.Serving.Hosting;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// The whole loop on Azurite, started by its timer: the product app's <c>RetrainingTimer</c> (its schedule from app
/// settings, the timers on a fake clock) starts <c>RetrainingPipeline</c> under its fixed instance id, which finds the
/// served model drifted, retrains it, and promotes the new version by canary on the real prediction service, under
/// steady traffic that never sees a failed request. A tick while the run is going starts nothing; a tick after it has
/// finished starts the next run under the same id.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RetrainingTimerTests(AzuriteFixture azurite) : IAsyncLifetime, IDisposable
{
    private const string Model = "churn";
    private const string Timer = "RetrainingTimer";
    private const string InstanceId = "retraining-" + Model;
    private const string AdminKey = "retraining-timer-admin-key";
    private const int Features = 4;
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    /// <summary>One minute before the first occurrence of the sample settings' schedule (02:00 UTC every day).</summary>
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 1, 59, 0, TimeSpan.Zero);

    private readonly string _folder = Directory.CreateTempSubdirectory("retraining-timer-").FullName;
    private readonly FakeTimeProvider _clock = new(Start);
    private WebApplication _serving = null!;
    private HttpClient _servingHttp = null!;
    private int _answered;
    private int _failed;
    private string? _firstFailure;

    public async Task InitializeAsync()
    {
        var builder = ServingApplication.CreateBuilder(
        [
            "--urls=http://127.0.0.1:0",
            "--" + DataRoot.Setting + "=" + _folder,
            "--Serving:RegistryPollSeconds=0",
            "--Serving:AdminKey=" + AdminKey,
            "--Serving:CacheEntries=0",
        ]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        _serving = ServingApplication.Build(builder);
        await _serving.StartAsync();
        _servingHttp = new HttpClient { BaseAddress = new Uri(_serving.Urls.First().TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public void Dispose() => _servingHttp?.Dispose();

    public async Task DisposeAsync()
    {
        await _serving.StopAsync();
        await _serving.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task The_timer_starts_the_pipeline_which_retrains_the_drifted_model_and_promotes_it_by_canary_under_load()
    {
        await using var host = await TestHost.StartAsync(
            azurite.ConnectionString,
            configureServices: services => services.AddKeyedSingleton<TimeProvider>(TimerScheduler.ClockKey, _clock),
            settings:
            [
                $"{DataRoot.Setting}={_folder}",
                "WorkflowsServingUrl=" + _servingHttp.BaseAddress,
                "WorkflowsServingAdminKey=" + AdminKey,
                "WorkflowsRetrainingInput=pipeline.json",
                $"AzureWebJobs.{Timer}.Disabled=false",
            ]);
        var status = host.App.Services.GetRequiredService<TaskHubRuntime>().State;

        // Version 1, trained on last season's data, becomes the service's stable version.
        await RunAsync(host, "GenerateDataset", new { rows = 6_000, features = Features, informative = 3, chunkRows = 1_000, seed = 1, destination = "old" });
        await RunAsync(host, "EpochTraining", new { dataset = "old", labelColumn = "label", modelName = Model, epochs = 2, holdoutFraction = 0.2, learningRate = 0.3, seed = 3 });
        await AdminAsync(HttpMethod.Post, "admin/refresh");
        Assert.Equal(1, (await AdminAsync(HttpMethod.Get, $"admin/models/{Model}"))["routing"]!["stable"]!.GetValue<int>());
        await RunAsync(host, "GenerateDataset", new { rows = 6_000, features = Features, informative = 3, chunkRows = 1_000, seed = 2, destination = "new" });
        await File.WriteAllTextAsync(Path.Combine(_folder, "pipeline.json"), JsonSerializer.Serialize(new
        {
            model = Model,
            dataset = "new",
            training = new { labelColumn = "label", epochs = 2, holdoutFraction = 0.2, learningRate = 0.3, seed = 4 },
            drift = new { minSamples = 300 },
            canary = new
            {
                steps = new[] { new { weight = 50, pause = "00:00:01" }, new { weight = 100, pause = "00:00:01" } },
                analysisInterval = "00:00:01",
                // A shared 2-core machine may starve the load for a window: thin windows are tolerated, never passed.
                checks = new[] { new { name = "error-rate", kind = "ErrorRate", threshold = 0.01, minSamples = 5, inconclusiveLimit = 3 } },
            },
        }));

        // Traffic whose inputs have moved away from the training data's (every feature shifted by 4).
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 2).Select(worker => LoadAsync(worker, stop.Token)).ToArray();
        try
        {
            await TestHost.PollAsync(_ => Task.FromResult(Volatile.Read(ref _answered) >= 40 ? true : (bool?)null));

            // 02:00: the tick starts the pipeline under its fixed id.
            _clock.Advance(TimeSpan.FromMinutes(1));
            await WaitForTimerAsync(status, last: Start.AddMinutes(1));
            var started = await StatusAsync(host);
            Assert.True(started is { } s && s.GetProperty("runtimeStatus").GetString() is "Pending" or "Running", $"after the first tick: {started}");
            var created = started!.Value.GetProperty("createdTime").GetString();

            // The next day's tick comes while the run is going: it starts nothing.
            _clock.Advance(TimeSpan.FromDays(1));
            await WaitForTimerAsync(status, last: Start.AddMinutes(1).AddDays(1));
            var during = await StatusAsync(host);
            Assert.Equal(created, during!.Value.GetProperty("createdTime").GetString());

            var done = await EventuallyAsync(host, static s => s.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated");
            Assert.True(TestHost.IsStatus(done, "Completed"), $"the pipeline ended {done}");
            Assert.Equal(created, done.GetProperty("createdTime").GetString());
            var output = done.GetProperty("output");
            Assert.Equal("Promoted", output.GetProperty("outcome").GetString());
            Assert.True(output.GetProperty("retrained").GetBoolean());
            Assert.Equal("Drift", output.GetProperty("drift").GetProperty("status").GetString());
            Assert.Equal(2, output.GetProperty("candidateVersion").GetInt32());
            Assert.Equal(
                ["statistics", "drift", "decide", "train", "compare", "canary", "end"],
                output.GetProperty("decisions").EnumerateArray().Select(static d => d.GetProperty("stage").GetString()));
            var route = await AdminAsync(HttpMethod.Get, $"admin/models/{Model}");
            Assert.Equal((2, null), (route["routing"]!["stable"]!.GetValue<int>(), route["routing"]!["candidate"]?.GetValue<int>()));

            // One history holds the chain, in order, each step once: drift → retrain → canary → promote.
            var history = await HistoryAsync(host);
            Assert.Equal(1, history.Count(static e => Type(e) == "ExecutionStarted"));
            Assert.Equal(
                ["RetrainingValidate", "ChunkedStatistics", "DriftCheck", "EpochTraining", "RetrainingCompareWithStable", "CanaryPromotion"],
                history.Where(static e => Type(e) is "TaskCompleted" or "SubOrchestrationInstanceCompleted").Select(static e => e.GetProperty("FunctionName").GetString()));
            Assert.DoesNotContain(history, static e => Type(e) is "TaskFailed" or "SubOrchestrationInstanceFailed");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        Assert.True(_failed == 0, $"{_failed} of {_answered + _failed} requests failed through the promotion; the first: {_firstFailure}");

        // A day later the run has finished: the tick starts the next one under the same id.
        var previous = (await StatusAsync(host))!.Value.GetProperty("createdTime").GetString();
        _clock.Advance(TimeSpan.FromDays(1));
        await WaitForTimerAsync(status, last: Start.AddMinutes(1).AddDays(2));
        var next = await EventuallyAsync(host, s => s.GetProperty("createdTime").GetString() != previous);
        Assert.Contains(next.GetProperty("runtimeStatus").GetString(), new[] { "Pending", "Running" });
        using var terminate = await host.PostAsync($"runtime/webhooks/durabletask/instances/{InstanceId}/terminate?reason=test%20over");
        Assert.Equal(HttpStatusCode.Accepted, terminate.StatusCode);
    }

    private async Task LoadAsync(int worker, CancellationToken cancellationToken)
    {
        var random = new Random(worker);
        var i = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var data = new JsonArray();
            for (var value = 0; value < 20 * Features; value++)
            {
                data.Add((float)(4 + random.NextDouble() * 2 - 1));
            }

            var body = new JsonObject
            {
                ["inputs"] = new JsonArray(new JsonObject { ["name"] = "features", ["shape"] = new JsonArray(20, Features), ["datatype"] = "FP32", ["data"] = data }),
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, $"v2/models/{Model}/infer") { Content = JsonContent.Create(body) };
            request.Headers.Add("x-request-key", $"user-{worker}-{i++}");
            try
            {
                using var response = await _servingHttp.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _answered);
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                    _firstFailure ??= $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(CancellationToken.None)}";
                }

                // Paced, so training and the task hub keep their share of the two cores.
                await Task.Delay(TimeSpan.FromMilliseconds(5), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task<JsonNode> AdminAsync(HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("x-admin-key", AdminKey);
        using var response = await _servingHttp.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task RunAsync(TestHost host, string orchestrator, object input)
    {
        var id = await host.StartAsync(orchestrator, JsonSerializer.Serialize(input));
        var status = await host.WaitForStatusAsync(id, static s => s.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated");
        Assert.True(TestHost.IsStatus(status, "Completed"), $"{orchestrator} ended {status}");
    }

    /// <summary>Polls the persisted schedule status until the run of occurrence <paramref name="last"/> has returned.</summary>
    private static Task<bool> WaitForTimerAsync(Workflows.Host.State.IHostStateStore status, DateTimeOffset last) =>
        TestHost.PollAsync(async cancellationToken =>
        {
            var stored = await status.ReadAsync(TimerScheduler.StatusName(Timer), cancellationToken);
            return stored is not null && JsonSerializer.Deserialize<TimerStatus>(stored)?.Last == last ? true : (bool?)null;
        });

    private static async Task<JsonElement?> StatusAsync(TestHost host)
    {
        using var response = await host.Http.GetAsync(new Uri($"runtime/webhooks/durabletask/instances/{InstanceId}", UriKind.Relative));
        return response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted
            ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone()
            : null;
    }

    private static async Task<JsonElement> EventuallyAsync(TestHost host, Func<JsonElement, bool> done)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (await StatusAsync(host) is { } status && done(status))
            {
                return status;
            }

            Assert.True(deadline.Elapsed < Bound, $"{InstanceId} did not get there within {Bound.TotalMinutes} minutes: {await StatusAsync(host)}");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    private static async Task<List<JsonElement>> HistoryAsync(TestHost host)
    {
        using var response = await host.Http.GetAsync(new Uri($"runtime/webhooks/durabletask/instances/{InstanceId}?showHistory=true", UriKind.Relative));
        var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return [.. status.GetProperty("historyEvents").EnumerateArray()];
    }

    private static string? Type(JsonElement historyEvent) => historyEvent.GetProperty("EventType").GetString();
}
