using System.Diagnostics;
using Workflows.Durable;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.Client;
using Workflows.Durable.Storage;
using Workflows.Durable.Worker;
using Workflows.Functions;
using Workflows.Functions.Statistics;
using Workflows.Functions.Training;
using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Registry;
using Workflows.ML.Training;

namespace Workflows.Bench;

/// <summary>
/// The function app's orchestrations on an Azure Storage task hub in an in-memory Azurite the bench starts: one
/// <see cref="DurableTaskWorker"/> with the app's functions, a local-folder model registry and a decoded-chunk cache
/// the bench sizes, and a <see cref="DurableTaskClient"/> that starts runs and waits for them.
/// </summary>
internal sealed class TrainDurableRun : IAsyncDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(30);

    private readonly AzuriteProcess _azurite;
    private readonly AzureStorageProvider _provider;
    private readonly DurableTaskWorker _worker;
    private bool _stopped;

    private TrainDurableRun(AzuriteProcess azurite, AzureStorageProvider provider, DurableTaskWorker worker, LocalFolderModelRegistry registry, DecodedChunkCache cache)
    {
        _azurite = azurite;
        _provider = provider;
        _worker = worker;
        Registry = registry;
        Cache = cache;
        Client = new DurableTaskClient(provider);
    }

    public DurableTaskClient Client { get; }

    public LocalFolderModelRegistry Registry { get; }

    public DecodedChunkCache Cache { get; }

    public StorageTransactionCounter Counter => _provider.Clients.Counter;

    public static async Task<TrainDurableRun> StartAsync(string registryFolder, long cacheBytes)
    {
        var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        var provider = new AzureStorageProvider(new AzureStorageOptions
        {
            ConnectionString = azurite.ConnectionString,
            TaskHubName = "benchtrain" + Guid.NewGuid().ToString("N")[..12],
        });
        var registry = new LocalFolderModelRegistry(registryFolder);
        var cache = new DecodedChunkCache(cacheBytes);
        var functions = new DurableTaskRegistry().AddWorkflowFunctions(LocalDatasetStorage.Instance, SimdStatisticsKernel.Instance, registry, cache);
        var worker = new DurableTaskWorker(provider, functions);
        await worker.StartAsync(CancellationToken.None);
        return new TrainDurableRun(azurite, provider, worker, registry, cache);
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
    public async Task<(EpochTrainingOutput Output, RegisteredModel Model, double Seconds)> RunTrainingAsync(EpochTrainingInput input)
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

        return (output, model, seconds);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _worker.DisposeAsync();
        await _provider.Clients.DeleteAsync();
        await _azurite.DisposeAsync();
    }

    /// <summary>Stops the worker (the cache it holds can then be collected).</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _worker.StopAsync(CancellationToken.None);
        }
    }

    private async Task<(double Seconds, OrchestrationMetadata Result)> RunAsync(string name, object input)
    {
        using var timeout = new CancellationTokenSource(RunTimeout);
        var clock = Stopwatch.StartNew();
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, cancellationToken: timeout.Token);
        try
        {
            var result = await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
            return (clock.Elapsed.TotalSeconds, result);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new BenchFailedException($"{name} did not finish within {RunTimeout.TotalMinutes:F0} minutes.");
        }
    }
}
