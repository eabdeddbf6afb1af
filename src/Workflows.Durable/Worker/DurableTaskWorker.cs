using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.Worker;

/// <summary>
/// Runs orchestrations and activities from a storage provider: an orchestration dispatcher and an activity
/// dispatcher, each with bounded concurrency, plus the extended-session cache. Any number of workers may share
/// one provider; the provider's locks keep each instance on one worker at a time.
/// </summary>
public sealed class DurableTaskWorker : IHostedService, IAsyncDisposable
{
    private readonly IStorageProvider _provider;
    private readonly DurableTaskRegistry _registry;
    private readonly DurableTaskWorkerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EpisodeProcessor _episodes;
    private readonly OrchestrationCache _cache;
    private readonly CancellationTokenSource _stopFetching = new();
    private readonly CancellationTokenSource _abortActivities = new();
    private readonly List<Task> _loops = [];
    private readonly ActivityWorkItem?[] _activitiesInFlight;
    private int _started;

    /// <summary>Creates a worker; call <see cref="StartAsync"/> to begin processing.</summary>
    public DurableTaskWorker(
        IStorageProvider provider,
        DurableTaskRegistry registry,
        DurableTaskWorkerOptions? options = null,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(registry);
        _options = options ?? new DurableTaskWorkerOptions();
        _options.Validate();
        _provider = provider;
        _registry = registry;
        _time = timeProvider ?? TimeProvider.System;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("Workflows.Durable.Worker");
        _episodes = new EpisodeProcessor(registry, _options.DataConverter, loggerFactory, _time);
        _activitiesInFlight = new ActivityWorkItem?[_options.MaxConcurrentActivityFunctions];
        _cache = new OrchestrationCache(_options.ExtendedSessionsEnabled ? _options.MaxCachedOrchestrations : 0);
    }

    /// <summary>Counters for tests, benchmarks and metrics.</summary>
    public WorkerStatistics Statistics { get; } = new();

    /// <summary>Orchestrations currently held in the extended-session cache.</summary>
    public int CachedOrchestrations => _cache.Count;

    /// <summary>Starts the dispatchers.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("The worker was already started.");
        }

        await _provider.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < _options.MaxConcurrentOrchestratorFunctions; i++)
        {
            _loops.Add(Task.Run(() => DispatchLoopAsync(_provider.LockNextOrchestrationWorkItemAsync, ProcessOrchestrationAsync, _provider.AbandonOrchestrationWorkItemAsync), CancellationToken.None));
        }

        for (var i = 0; i < _options.MaxConcurrentActivityFunctions; i++)
        {
            // Each slot records its running activity without contention, for a forced stop to give back.
            var slot = i;
            _loops.Add(Task.Run(() => DispatchLoopAsync(_provider.LockNextActivityWorkItemAsync, workItem => RunActivityAsync(workItem, slot), _provider.AbandonActivityWorkItemAsync), CancellationToken.None));
        }

        WorkerLog.WorkerStarted(_logger, _registry.OrchestratorNames.Count, _registry.ActivityNames.Count, _options.MaxConcurrentOrchestratorFunctions, _options.MaxConcurrentActivityFunctions);
    }

    /// <summary>
    /// Stops fetching work and waits for work in flight to finish. When <paramref name="cancellationToken"/> fires
    /// first, running activities are cancelled and their work items abandoned, to be re-run by another worker.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopFetching.CancelAsync().ConfigureAwait(false);
        using (cancellationToken.Register(() => _abortActivities.Cancel()))
        {
            try
            {
                await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Activities that ignore their cancellation token are not waited for: give their work items back
                // so another worker re-runs them now instead of after the lock expires. Within a budget, since
                // storage may be gone; what is not given back shows again when its lock expires.
                using var budget = new CancellationTokenSource(AbandonBudget);
                foreach (var workItem in _activitiesInFlight)
                {
                    if (workItem is null)
                    {
                        continue;
                    }

                    await TryAsync(() => _provider.AbandonActivityWorkItemAsync(workItem, budget.Token)).ConfigureAwait(false);
                }
            }
        }

        WorkerLog.WorkerStopped(_logger);
    }

    /// <summary>How long a stopping worker tries to give back one work item it will not finish.</summary>
    private static readonly TimeSpan AbandonBudget = TimeSpan.FromSeconds(2);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_started == 1 && !_stopFetching.IsCancellationRequested)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await StopAsync(timeout.Token).ConfigureAwait(false);
        }

        _stopFetching.Dispose();
        _abortActivities.Dispose();
    }

    /// <summary>One dispatcher slot: lock the next work item, process it, repeat until stopping.</summary>
    private async Task DispatchLoopAsync<TWorkItem>(Func<CancellationToken, Task<TWorkItem>> lockNext, Func<TWorkItem, Task> process, Func<TWorkItem, CancellationToken, Task> abandon)
    {
        var token = _stopFetching.Token;
        while (!token.IsCancellationRequested)
        {
            TWorkItem workItem;
            try
            {
                workItem = await lockNext(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                WorkerLog.DispatcherError(_logger, exception);
                await BackOffAsync(token).ConfigureAwait(false);
                continue;
            }

            if (token.IsCancellationRequested)
            {
                // Locked while stopping: give it back rather than start work after StopAsync was asked to stop.
                using var budget = new CancellationTokenSource(AbandonBudget);
                await TryAsync(() => abandon(workItem, budget.Token)).ConfigureAwait(false);
                break;
            }

            try
            {
                await process(workItem).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // A dispatcher slot must survive anything a work item does.
                WorkerLog.DispatcherError(_logger, exception);
            }
        }
    }

    private async Task ProcessOrchestrationAsync(OrchestrationWorkItem workItem)
    {
        string? etag = null;
        OrchestrationExecutor? keep = null;
        var cached = await _cache.CheckOutAsync(workItem.InstanceId, workItem.HistoryETag).ConfigureAwait(false);
        try
        {
            IReadOnlyList<HistoryEvent>? history = null;
            if (cached is null)
            {
                history = await _provider.LoadHistoryAsync(workItem).ConfigureAwait(false);
            }

            EpisodeOutcome outcome;
            try
            {
                outcome = _episodes.Process(workItem, cached, history);
            }
            catch (Exception exception)
            {
                // Not a storage problem: retrying would fail the same way forever, so the execution fails instead.
                WorkerLog.OrchestrationWorkItemError(_logger, workItem.InstanceId, exception);
                outcome = _episodes.FailOnError(workItem, cached, history, exception);
            }

            etag = await _provider.CompleteOrchestrationWorkItemAsync(workItem, outcome.Commit).ConfigureAwait(false);
            keep = outcome.ExecutorToKeep;
            Statistics.OnEpisode(outcome.CacheHit, outcome.EventsReplayed, outcome.EventsApplied);
        }
        catch (WorkItemLockLostException)
        {
            WorkerLog.LockLost(_logger, workItem.InstanceId);
        }
        catch (Exception exception)
        {
            WorkerLog.OrchestrationWorkItemError(_logger, workItem.InstanceId, exception);
            await TryAsync(() => _provider.AbandonOrchestrationWorkItemAsync(workItem)).ConfigureAwait(false);
        }
        finally
        {
            // Only an executor whose episode was committed is still valid; anything else is replayed next time.
            _cache.Return(workItem.InstanceId, etag, keep);
        }
    }

    private async Task RunActivityAsync(ActivityWorkItem workItem, int slot)
    {
        var message = workItem.Message;
        var scheduled = message.Event;
        Volatile.Write(ref _activitiesInFlight[slot], workItem);
        try
        {
            var result = await InvokeActivityAsync(workItem).ConfigureAwait(false);
            if (result is null)
            {
                await TryAsync(() => _provider.AbandonActivityWorkItemAsync(workItem)).ConfigureAwait(false);
                return;
            }

            await _provider.CompleteActivityWorkItemAsync(workItem, new OrchestrationMessage(message.InstanceId, message.ExecutionId, result)).ConfigureAwait(false);
            Statistics.OnActivity();
        }
        catch (Exception exception)
        {
            WorkerLog.ActivityWorkItemError(_logger, scheduled.Name, message.InstanceId, exception);
            if (exception is not WorkItemLockLostException)
            {
                await TryAsync(() => _provider.AbandonActivityWorkItemAsync(workItem)).ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref _activitiesInFlight[slot], null);
        }
    }

    /// <summary>Runs the activity; returns its result event, or null when it was cancelled by a forced shutdown.</summary>
    private async Task<HistoryEvent?> InvokeActivityAsync(ActivityWorkItem workItem)
    {
        var message = workItem.Message;
        var scheduled = message.Event;
        try
        {
            if (!_registry.TryCreateActivity(scheduled.Name, out var activity))
            {
                return new TaskFailed(Now(), scheduled.EventId, new FailureDetails(
                    typeof(InvalidOperationException).FullName!,
                    $"No activity named '{scheduled.Name}' is registered with this worker.",
                    IsNonRetriable: true));
            }

            var input = _options.DataConverter.Deserialize(scheduled.Input, activity!.InputType);
            var context = new TaskActivityContext(scheduled.Name, message.InstanceId, scheduled.EventId, message.IdempotencyKey, _abortActivities.Token);
            var run = activity.RunAsync(context, input);
            object? output;
            if (run.IsCompleted)
            {
                output = await run.ConfigureAwait(false);
            }
            else
            {
                await using var renewal = _time.CreateTimer(
                    static state =>
                    {
                        var (worker, item) = ((DurableTaskWorker, ActivityWorkItem))state!;
                        worker.RenewActivityLock(item);
                    },
                    (this, workItem),
                    _options.ActivityLockRenewalInterval,
                    _options.ActivityLockRenewalInterval).ConfigureAwait(false);
                output = await run.ConfigureAwait(false);
            }

            return new TaskCompleted(Now(), scheduled.EventId, _options.DataConverter.Serialize(output));
        }
        catch (OperationCanceledException) when (_abortActivities.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception exception)
        {
            // Factory, input conversion and activity failures all become the task's failure, seen by the orchestrator.
            return new TaskFailed(Now(), scheduled.EventId, FailureDetails.FromException(exception));
        }
    }

    private void RenewActivityLock(ActivityWorkItem workItem) =>
        _ = TryAsync(() => _provider.RenewActivityWorkItemLockAsync(workItem));

    private DateTime Now() => _time.GetUtcNow().UtcDateTime;

    private async Task BackOffAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task TryAsync(Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            WorkerLog.DispatcherError(_logger, exception);
        }
    }
}
