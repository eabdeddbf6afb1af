using System.Diagnostics;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.Functions.Statistics;
using Workflows.Functions.Training;
using Workflows.Host.Azurite;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Kernels;
using Workflows.ML.Registry;
using Workflows.ML.Training;

namespace Workflows.Bench;

/// <summary>
/// The function app's orchestrations on our task hub in an in-memory Azurite the bench starts: one worker with the
/// app's functions, a local-folder model registry and a decoded-chunk cache the bench sizes, and the official client
/// that starts runs and waits for them.
/// </summary>
internal sealed class TrainDurableRun : IAsyncDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(30);

    private static readonly TimeSpan CompletionPollInterval = TimeSpan.FromMilliseconds(20);

    private readonly AzuriteProcess _azurite;
    private readonly TaskHubOrchestrationService _service;
    private readonly AppEngine _engine;

    private TrainDurableRun(AzuriteProcess azurite, TaskHubOrchestrationService service, AppEngine engine, LocalFolderModelRegistry registry, DecodedChunkCache cache)
    {
        _azurite = azurite;
        _service = service;
        _engine = engine;
        Registry = registry;
        Cache = cache;
    }

    public DurableTaskClient Client => _engine.Client;

    public LocalFolderModelRegistry Registry { get; }

    public DecodedChunkCache Cache { get; }

    public StorageTransactionCounter Counter => _service.Provider.Clients.Counter;

    public static async Task<TrainDurableRun> StartAsync(string registryFolder, long cacheBytes)
    {
        var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        var service = new TaskHubOrchestrationService(new AzureStorageOptions
        {
            ConnectionString = azurite.ConnectionString,
            TaskHubName = "benchtrain" + Guid.NewGuid().ToString("N")[..12],
        });
        await service.CreateIfNotExistsAsync();
        var registry = new LocalFolderModelRegistry(registryFolder);
        var cache = new DecodedChunkCache(cacheBytes);
        var engine = await AppEngine.StartAsync(service, SimdStatisticsKernel.Instance, registry, cache);
        return new TrainDurableRun(azurite, service, engine, registry, cache);
    }

    /// <summary>ChunkedStatistics over the training folder; returns the stats artifact's path.</summary>
    public async Task<(string Artifact, double Seconds)> RunStatisticsAsync(string folder, int expectedRows)
    {
        var (seconds, result) = await RunAsync(ChunkedStatisticsOrchestrator.Name, new ChunkedStatisticsInput(folder, TrainData.LabelColumn));
        var output = result.ReadOutputAs<ChunkedStatisticsOutput>();
        if (result.RuntimeStatus != OrchestrationRuntimeStatus.Completed || output is null || output.Statistics.Rows != expectedRows)
        {
            throw new BenchFailedException($"ChunkedStatistics ended {result.RuntimeStatus} with {output?.Statistics.Rows} rows: {result.FailureDetails?.ErrorMessage}");
        }

        return (output.ArtifactPath, seconds);
    }

    /// <summary>EpochTraining to a registered model; fails unless it completed, trained every epoch and registered the model.</summary>
    public async Task<(EpochTrainingOutput Output, RegisteredModel Model, double Seconds, string InstanceId)> RunTrainingAsync(EpochTrainingInput input)
    {
        var (seconds, result) = await RunAsync(EpochTrainingOrchestrator.Name, input);
        var output = result.ReadOutputAs<EpochTrainingOutput>();
        if (result.RuntimeStatus != OrchestrationRuntimeStatus.Completed || output is null)
        {
            throw new BenchFailedException($"EpochTraining ended {result.RuntimeStatus}: {result.FailureDetails?.ErrorMessage}");
        }

        if (output.LearningCurve.Count != input.Epochs)
        {
            throw new BenchFailedException($"EpochTraining trained {output.LearningCurve.Count} epochs, expected {input.Epochs}.");
        }

        var model = await Registry.GetAsync(output.ModelName, output.Version)
            ?? throw new BenchFailedException($"model '{output.ModelName}' version {output.Version} is not in the registry.");
        if (model.ArtifactLength <= 0)
        {
            throw new BenchFailedException($"model '{output.ModelName}' version {output.Version} has an empty artifact.");
        }

        return (output, model, seconds, result.InstanceId);
    }

    /// <summary>
    /// Where the wall time of an instance went, from its history: per activity name the sum of scheduled-to-completed
    /// spans (commit, queue, dequeue, run, reply), and what is left of the wall time between ExecutionStarted and
    /// ExecutionCompleted (the start's pickup, replays, commits and the orchestrator's dequeues).
    /// </summary>
    public async Task<IReadOnlyList<(string Name, int Count, double Seconds)>> BreakdownAsync(string instanceId)
    {
        var history = await Client.GetOrchestrationHistoryAsync(instanceId);
        var scheduled = new Dictionary<int, TaskScheduledEvent>();
        var spans = new Dictionary<string, (int Count, double Seconds)>(StringComparer.Ordinal);
        foreach (var item in history)
        {
            if (item is TaskScheduledEvent task)
            {
                scheduled[task.EventId] = task;
            }
            else if (item is TaskCompletedEvent completed && scheduled.TryGetValue(completed.TaskScheduledId, out var start))
            {
                var name = start.Name ?? "(unnamed)";
                var (count, seconds) = spans.GetValueOrDefault(name);
                spans[name] = (count + 1, seconds + (completed.Timestamp - start.Timestamp).TotalSeconds);
            }
        }

        var started = history.OfType<ExecutionStartedEvent>().First().Timestamp;
        var total = (history.OfType<ExecutionCompletedEvent>().Last().Timestamp - started).TotalSeconds;
        var rows = spans.Select(s => (s.Key, s.Value.Count, s.Value.Seconds)).ToList();
        rows.Add(("(between activities)", 0, total - rows.Sum(r => r.Seconds)));
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        await _engine.DisposeAsync();
        await _service.DeleteAsync();
        await _service.DisposeAsync();
        await _azurite.DisposeAsync();
    }

    /// <summary>Stops the worker (the cache it holds can then be collected).</summary>
    public Task StopAsync() => _engine.StopAsync();

    private async Task<(double Seconds, OrchestrationMetadata Result)> RunAsync(string name, object input)
    {
        using var timeout = new CancellationTokenSource(RunTimeout);
        var clock = Stopwatch.StartNew();
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, cancellation: timeout.Token);
        try
        {
            // The client's own wait backs off to 1 s between polls, which would add up to a second to a run of a few
            // seconds: poll at a fixed short interval instead (a table read each), so the clock stops when the run does.
            while (await Client.GetInstanceAsync(id, getInputsAndOutputs: false, timeout.Token) is not { IsCompleted: true })
            {
                await Task.Delay(CompletionPollInterval, timeout.Token);
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var result = await Client.GetInstanceAsync(id, getInputsAndOutputs: true, timeout.Token)
                ?? throw new BenchFailedException($"{name} instance {id} disappeared.");
            return (seconds, result);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new BenchFailedException($"{name} did not finish within {RunTimeout.TotalMinutes:F0} minutes.");
        }
    }
}
