using Workflows.ML.Registry;
using Workflows.Serving.Batching;
using Workflows.Serving.Diagnostics;
using Workflows.Serving.Monitoring;
using Workflows.Serving.Scoring;

namespace Workflows.Serving.Models;

/// <summary>A model version ready to serve: the opened model, its batcher, its load report, statistics and metrics.</summary>
internal sealed class LoadedVersion : IAsyncDisposable
{
    public LoadedVersion(
        RegisteredModel manifest, IScoringModel model, MicroBatcher batcher, ModelReport report, VersionStats stats, VersionInstruments instruments, PredictionSample? sample = null)
    {
        Sample = sample;
        Manifest = manifest;
        Model = model;
        Batcher = batcher;
        Report = report;
        Stats = stats;
        Instruments = instruments;
    }

    public RegisteredModel Manifest { get; }

    public int Version => Manifest.Version;

    public IScoringModel Model { get; }

    public ModelSchema Schema => Model.Schema;

    public MicroBatcher Batcher { get; }

    public ModelReport Report { get; }

    public VersionStats Stats { get; }

    public VersionInstruments Instruments { get; }

    /// <summary>The recent rows this version answered (inputs and predictions), or null when the service keeps none (<c>SampleRows</c> 0).</summary>
    public PredictionSample? Sample { get; }

    public async ValueTask DisposeAsync()
    {
        await Batcher.DisposeAsync().ConfigureAwait(false);
        Model.Dispose();
    }
}

/// <summary>A registered version as the service sees it: loaded, or failed with the reason.</summary>
/// <param name="Manifest">The registry's manifest.</param>
/// <param name="Loaded">The loaded version, or null when it failed.</param>
/// <param name="Error">Why it failed to load, or null.</param>
internal sealed record VersionState(RegisteredModel Manifest, LoadedVersion? Loaded, string? Error);
