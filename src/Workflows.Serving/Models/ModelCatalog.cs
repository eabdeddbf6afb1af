using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.ML.Registry;
using Workflows.Serving.Batching;
using Workflows.Serving.Configuration;
using Workflows.Serving.Diagnostics;
using Workflows.Serving.Routing;
using Workflows.Serving.Scoring;

namespace Workflows.Serving.Models;

/// <summary>
/// The models the service serves, kept in step with the model registry: each scan loads the versions it has not seen
/// beside the ones already serving (a version that fails to load is recorded with its reason and changes no routing),
/// one scan at a time. Versions are never unloaded while the service runs, so a request that chose a version always
/// finds it.
/// </summary>
internal sealed class ModelCatalog : IAsyncDisposable
{
    private const int SingleRowRuns = 50;
    private const int BatchRuns = 10;
    private readonly IModelRegistry _registry;
    private readonly IRouteStore _routes;
    private readonly ServingOptions _options;
    private readonly ServingMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, ServedModel> _models = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _scan = new(1, 1);
    private volatile bool _scanned;

    public ModelCatalog(IModelRegistry registry, IRouteStore routes, IOptions<ServingOptions> options, ServingMetrics metrics, TimeProvider timeProvider, ILogger<ModelCatalog> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _registry = registry;
        _routes = routes;
        _options = options.Value;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Whether a scan has completed and every model with a version has a loaded one.</summary>
    public bool Ready => _scanned && _models.Values.All(model => model.Route is not null);

    public IReadOnlyList<ServedModel> Models => _models.Values.OrderBy(model => model.Name, StringComparer.Ordinal).ToList();

    public ServedModel? Find(string name) => _models.TryGetValue(name, out var model) ? model : null;

    /// <summary>Loads every registered version not seen yet; returns how many it loaded or failed to load.</summary>
    public async Task<int> RefreshAsync(CancellationToken cancellationToken)
    {
        await _scan.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var added = 0;
            foreach (var name in await _registry.ListNamesAsync(cancellationToken).ConfigureAwait(false))
            {
                var model = _models.GetOrAdd(name, static n => new ServedModel(n));
                var changed = false;
                foreach (var manifest in await _registry.ListVersionsAsync(name, cancellationToken).ConfigureAwait(false))
                {
                    if (model.Knows(manifest.Version))
                    {
                        continue;
                    }

                    var state = await LoadAsync(manifest, cancellationToken).ConfigureAwait(false);
                    if (model.Add(state) is { } change && model.Route is { } route)
                    {
                        ServingLog.RouteChanged(_logger, name, route.Stable, route.Candidate, route.CandidateWeight, route.Shadow, route.ShadowShare, change);
                        changed = true;
                    }

                    added++;
                }

                if (model.Route is not null && model.RestorePending)
                {
                    model.RestorePending = false;
                    changed = await RestoreRouteAsync(model, cancellationToken).ConfigureAwait(false);
                }

                if (changed)
                {
                    await SaveRouteAsync(model, cancellationToken).ConfigureAwait(false);
                }
            }

            _scanned = true;
            return added;
        }
        finally
        {
            _scan.Release();
        }
    }

    /// <summary>
    /// Writes the model's current table to the route store; a failure is logged and the table holds in memory. Writes
    /// of one model go out one at a time, each with the table current when it starts, so the last one stored is the
    /// latest.
    /// </summary>
    public async Task SaveRouteAsync(ServedModel model, CancellationToken cancellationToken)
    {
        await model.SaveGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (model.Route is { } route)
            {
                await _routes.WriteAsync(model.Name, route, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or Azure.RequestFailedException)
        {
            ServingLog.RouteSaveFailed(_logger, exception, model.Name, _routes.Describe(model.Name));
        }
        finally
        {
            model.SaveGate.Release();
        }
    }

    /// <summary>
    /// Restores the stored table when its versions are loaded, else logs why not. Returns whether the table in memory
    /// should be stored: only when none was stored (a rejected document stays as it was until the next change).
    /// </summary>
    private async Task<bool> RestoreRouteAsync(ServedModel model, CancellationToken cancellationToken)
    {
        var source = _routes.Describe(model.Name);
        RouteTable? stored;
        try
        {
            stored = await _routes.ReadAsync(model.Name, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException or UnauthorizedAccessException or Azure.RequestFailedException)
        {
            ServingLog.RouteNotRestored(_logger, model.Name, source, exception.Message);
            return false;
        }

        if (stored is null)
        {
            return true;
        }

        if (model.Restore(stored) is { } reason)
        {
            ServingLog.RouteNotRestored(_logger, model.Name, source, reason);
            return false;
        }

        var route = model.Route!;
        ServingLog.RouteRestored(_logger, model.Name, source, route.Stable, route.Candidate, route.CandidateWeight, route.Shadow, route.ShadowShare);
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var model in _models.Values)
        {
            foreach (var state in model.Versions)
            {
                if (state.Loaded is { } loaded)
                {
                    await loaded.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        foreach (var model in _models.Values)
        {
            model.SaveGate.Dispose();
        }

        _scan.Dispose();
    }

    private async Task<VersionState> LoadAsync(RegisteredModel manifest, CancellationToken cancellationToken)
    {
        var started = _timeProvider.GetTimestamp();
        IScoringModel? model = null;
        try
        {
            var artifact = await _registry.ReadArtifactAsync(manifest.Name, manifest.Version, cancellationToken).ConfigureAwait(false);
            model = ModelLoader.Load(manifest.Format, artifact, _options.OnnxIntraOpThreads);
            var loadMs = _timeProvider.GetElapsedTime(started).TotalMilliseconds;
            var report = Measure(model, manifest.ArtifactLength, loadMs);
            var instruments = _metrics.ForVersion(manifest.Name, manifest.Version);
            var batcher = new MicroBatcher(
                model,
                _options.MaxBatchRows,
                TimeSpan.FromMicroseconds(_options.MaxBatchWaitMicroseconds),
                _options.BatchQueueCapacity,
                _timeProvider,
                rows => instruments.BatchRows.Observe(rows));
            ServingLog.VersionLoaded(_logger, manifest.Name, manifest.Version, loadMs, model.Schema.Platform, model.Schema.FeatureCount, manifest.ArtifactLength);
            return new VersionState(manifest, new LoadedVersion(manifest, model, batcher, report, new VersionStats(_options.StatsWindowSeconds, _timeProvider), instruments,
                _options.SampleRows == 0 ? null : new Monitoring.PredictionSample(_options.SampleRows, model.Schema.FeatureCount)), null);
        }
        catch (Exception exception) when (exception is ModelLoadException or InvalidDataException or KeyNotFoundException or IOException or NotSupportedException
            or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or InvalidOperationException or ArgumentException)
        {
            model?.Dispose();
            ServingLog.VersionLoadFailed(_logger, exception, manifest.Name, manifest.Version, exception.Message);
            return new VersionState(manifest, null, exception.Message);
        }
    }

    /// <summary>Times single-row and batched model calls on zero rows after a warm-up (the model report).</summary>
    private ModelReport Measure(IScoringModel model, long sizeBytes, double loadMs)
    {
        var batchRows = _options.MaxBatchRows;
        if (!_options.MeasureAtLoad)
        {
            return new ModelReport(sizeBytes, loadMs, null, batchRows, null, null);
        }

        var schema = model.Schema;
        var features = new float[batchRows * schema.FeatureCount];
        var values = new float[batchRows * schema.ValueWidth];
        var labels = new long[batchRows];
        var single = MedianMicroseconds(SingleRowRuns, () => model.Score(features, 1, values, labels));
        var batch = MedianMicroseconds(BatchRuns, () => model.Score(features, batchRows, values, labels));
        return new ModelReport(sizeBytes, loadMs, single, batchRows, batch, batch > 0 ? batchRows / (batch / 1e6) : null);
    }

    private double MedianMicroseconds(int runs, Action call)
    {
        call(); // warm-up: first-call initialisation and JIT
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var started = _timeProvider.GetTimestamp();
            call();
            times[i] = _timeProvider.GetElapsedTime(started).TotalMicroseconds;
        }

        Array.Sort(times);
        return times[runs / 2];
    }
}
