using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Workflows.Host.TaskHub;
using Workflows.Host.Timers;
using Workflows.ML.Data;
using Workflows.Testing;
using Xunit;
using static Workflows.Host.Tests.Azurite.HistoryEvents;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// The whole loop on Azurite, started by its timer: the product app's <c>RetrainingTimer</c> (its schedule from app
/// settings, the timers on a fake clock) starts <c>RetrainingPipeline</c> under its fixed instance id, which finds the
/// served model drifted, retrains it, scores both versions on the new holdout, and promotes the new version by canary
/// on the real prediction service, under
/// steady traffic that never sees a failed request. A tick or a start by hand while the run is going starts nothing;
/// a tick after it has finished starts the next run under the same id.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RetrainingTimerTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Model = "churn";
    private const string Timer = "RetrainingTimer";
    private const string InstanceId = "retraining-" + Model;
    private const int Features = 4;
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    /// <summary>One minute before the first occurrence of the sample settings' schedule (02:00 UTC every day).</summary>
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 1, 59, 0, TimeSpan.Zero);

    private readonly string _folder = Directory.CreateTempSubdirectory("retraining-timer-").FullName;
    private readonly FakeTimeProvider _clock = new(Start);
    private InProcessServing _serving = null!;

    public async Task InitializeAsync() => _serving = await InProcessServing.StartAsync(_folder);

    public async Task DisposeAsync()
    {
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
                .. _serving.AppSettings,
                "WorkflowsRetrainingInput=pipeline.json",
                $"AzureWebJobs.{Timer}.Disabled=false",
            ]);
        var status = host.App.Services.GetRequiredService<TaskHubRuntime>().State;

        // Version 1, trained on last season's data, becomes the service's stable version.
        await host.RunToEndAsync("GenerateDataset", JsonSerializer.Serialize(new { rows = 6_000, features = Features, informative = 3, chunkRows = 1_000, seed = 1, destination = "old" }));
        await host.RunToEndAsync("EpochTraining", JsonSerializer.Serialize(new { dataset = "old", labelColumn = "label", modelName = Model, epochs = 2, holdoutFraction = 0.2, learningRate = 0.3, seed = 3 }));
        await _serving.AdminAsync(HttpMethod.Post, "admin/refresh");
        Assert.Equal(1, (await _serving.RoutingAsync(Model))["stable"]!.GetValue<int>());
        await host.RunToEndAsync("GenerateDataset", JsonSerializer.Serialize(new { rows = 6_000, features = Features, informative = 3, chunkRows = 1_000, seed = 2, destination = "new" }));
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
        _serving.StartLoad(Model, Features, center: 4);
        try
        {
            await _serving.WaitForAnswersAsync(40);

            // 02:00: the tick starts the pipeline under its fixed id.
            _clock.Advance(TimeSpan.FromMinutes(1));
            await WaitForTimerAsync(status, last: Start.AddMinutes(1));
            var started = await StatusAsync(host);
            Assert.True(started is { } s && s.GetProperty("runtimeStatus").GetString() is "Pending" or "Running", $"after the first tick: {started}");
            var created = started!.Value.GetProperty("createdTime").GetString();

            // A start by hand under the same id while the run is going is refused, not a replacement.
            using (var byHand = await host.PostAsync($"api/orchestrators/RetrainingPipeline/{InstanceId}", await File.ReadAllTextAsync(Path.Combine(_folder, "pipeline.json"))))
            {
                Assert.Equal(HttpStatusCode.Conflict, byHand.StatusCode);
            }

            // The next day's tick comes while the run is going: it starts nothing.
            _clock.Advance(TimeSpan.FromDays(1));
            await WaitForTimerAsync(status, last: Start.AddMinutes(1).AddDays(1));
            var during = await StatusAsync(host);
            Assert.Equal(created, during!.Value.GetProperty("createdTime").GetString());

            var done = await EventuallyAsync(host, TestHost.IsFinished);
            Assert.True(TestHost.IsStatus(done, "Completed"), $"the pipeline ended {done}");
            Assert.Equal(created, done.GetProperty("createdTime").GetString());
            var output = done.GetProperty("output");
            Assert.Equal("Promoted", output.GetProperty("outcome").GetString());
            Assert.True(output.GetProperty("retrained").GetBoolean());
            Assert.Equal("Drift", output.GetProperty("drift").GetProperty("status").GetString());
            Assert.Equal(Features, output.GetProperty("drift").GetProperty("features").GetArrayLength());
            Assert.Contains(output.GetProperty("drift").GetProperty("features").EnumerateArray(), static f => f.GetProperty("status").GetString() == "Significant");
            Assert.Equal(2, output.GetProperty("candidateVersion").GetInt32());
            var comparison = output.GetProperty("comparison");
            Assert.True(comparison.GetProperty("rescored").GetBoolean() && !comparison.GetProperty("candidateWorse").GetBoolean(), comparison.ToString());
            Assert.Equal(
                ["statistics", "drift", "decide", "train", "compare", "canary", "end"],
                output.GetProperty("decisions").EnumerateArray().Select(static d => d.GetProperty("stage").GetString()));
            var route = await _serving.RoutingAsync(Model);
            Assert.Equal((2, null), (route["stable"]!.GetValue<int>(), route["candidate"]?.GetValue<int>()));

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
            await _serving.StopLoadAsync();
        }

        Assert.True(_serving.Failed == 0, $"{_serving.Failed} of {_serving.Answered + _serving.Failed} requests failed through the promotion; the first: {_serving.FirstFailure}");

        // A day later the run has finished: the tick starts the next one under the same id.
        var previous = (await StatusAsync(host))!.Value.GetProperty("createdTime").GetString();
        _clock.Advance(TimeSpan.FromDays(1));
        await WaitForTimerAsync(status, last: Start.AddMinutes(1).AddDays(2));
        var next = await EventuallyAsync(host, s => s.GetProperty("createdTime").GetString() != previous);
        Assert.Contains(next.GetProperty("runtimeStatus").GetString(), new[] { "Pending", "Running" });
        using var terminate = await host.PostAsync($"runtime/webhooks/durabletask/instances/{InstanceId}/terminate?reason=test%20over");
        Assert.Equal(HttpStatusCode.Accepted, terminate.StatusCode);
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
}
