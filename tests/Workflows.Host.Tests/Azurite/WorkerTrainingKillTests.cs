using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Workflows.Host.FunctionApp;
using Workflows.ML.Data;
using Workflows.Testing;
using Xunit;
using static Workflows.Host.Tests.Azurite.HistoryEvents;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// The product app's worker process killed from outside (SIGKILL) in the middle of an EpochTraining run on Azurite: the
/// host starts a new worker, and the run completes with the learning curve of the same run left alone.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WorkerTrainingKillTests(AzuriteFixture azurite) : IDisposable
{
    private const int Epochs = 6;
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);
    private readonly string _folder = Directory.CreateTempSubdirectory("worker-training-kill-").FullName;

    [Fact]
    public async Task A_worker_killed_mid_training_is_restarted_and_the_run_completes_as_an_uninterrupted_one()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, settings: $"{DataRoot.Setting}={_folder}");
        var channel = host.App.Services.GetRequiredService<FunctionAppWorker>().Channel;
        var generate = await host.StartAsync("GenerateDataset", JsonSerializer.Serialize(new { rows = 200_000, features = 8, informative = 4, chunkRows = 10_000, seed = 11, destination = "kill" }));
        Assert.Equal("Completed", (await EventuallyAsync(host, generate, TestHost.IsFinished)).GetProperty("runtimeStatus").GetString());

        var killed = await host.StartAsync("EpochTraining", Training("killed-model"), "killed");

        // One epoch in and the run still going: kill the worker that runs its activities.
        var midRun = await EventuallyAsync(host, killed, static s => TestHost.IsFinished(s) || Epoch(s) >= 1);
        Assert.True(!TestHost.IsFinished(midRun), $"the run finished before the kill could land: {midRun}");
        var killedProcess = channel.ProcessId ?? throw new InvalidOperationException("No worker process.");
        var killedAt = DateTime.UtcNow;
        using (var process = Process.GetProcessById(killedProcess))
        {
            process.Kill();
        }

        var resumed = await EventuallyAsync(host, killed, TestHost.IsFinished);
        var reference = await EventuallyAsync(host, await host.StartAsync("EpochTraining", Training("reference-model"), "reference"), TestHost.IsFinished);

        Assert.True(TestHost.IsStatus(resumed, "Completed"), $"the killed run ended {resumed}");
        Assert.True(TestHost.IsStatus(reference, "Completed"), $"the reference run ended {reference}");
        Assert.NotEqual(killedProcess, channel.ProcessId);
        // The same model, to the bit: every epoch's holdout metrics of the interrupted run are the uninterrupted run's.
        var curve = resumed.GetProperty("output").GetProperty("learningCurve");
        Assert.Equal(Epochs, curve.GetArrayLength());
        Assert.Equal(reference.GetProperty("output").GetProperty("learningCurve").GetRawText(), curve.GetRawText());

        // The history, event by event: one execution; every activity scheduled once and answered once, none failed;
        // the kill landed mid-run (activities were answered on both sides of it).
        var history = await HistoryAsync(host, killed);
        Assert.Equal(1, history.Count(e => Type(e) == "ExecutionStarted"));
        Assert.DoesNotContain(history, e => Type(e) is "TaskFailed" or "TaskScheduled");
        var completed = history.Where(e => Type(e) == "TaskCompleted").ToList();
        Assert.Contains(completed, e => Time(e) < killedAt);
        Assert.Contains(completed, e => Time(e) > killedAt);
        Assert.Equal(Epochs * 2, completed.Count(e => Function(e) == "TrainEpoch"));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Training(string modelName) => JsonSerializer.Serialize(new
    {
        dataset = "kill", labelColumn = "label", modelName, holdoutFraction = 0.2, epochs = Epochs, learningRate = 0.3, parallelism = 2, seed = 5,
    });

    private static async Task<JsonElement> EventuallyAsync(TestHost host, string instanceId, Func<JsonElement, bool> done)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var response = await host.Http.GetAsync(new Uri($"runtime/webhooks/durabletask/instances/{instanceId}", UriKind.Relative));
            if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted)
            {
                var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                if (done(status))
                {
                    return status;
                }
            }

            Assert.True(deadline.Elapsed < Bound, $"{instanceId} did not get there within {Bound.TotalMinutes} minutes");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

    private static async Task<List<JsonElement>> HistoryAsync(TestHost host, string instanceId)
    {
        using var response = await host.Http.GetAsync(new Uri($"runtime/webhooks/durabletask/instances/{instanceId}?showHistory=true", UriKind.Relative));
        var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return [.. status.GetProperty("historyEvents").EnumerateArray()];
    }

    /// <summary>The epochs done, from EpochTraining's <c>customStatus</c>; 0 before the first.</summary>
    private static int Epoch(JsonElement status) =>
        status.TryGetProperty("customStatus", out var custom) && custom.ValueKind == JsonValueKind.Object && custom.TryGetProperty("epoch", out var epoch) && epoch.ValueKind == JsonValueKind.Number
            ? epoch.GetInt32()
            : 0;
}
