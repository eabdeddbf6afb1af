using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Workflows.Host.FunctionApp;
using Workflows.Host.Rpc;
using Workflows.Host.TaskHub;

namespace Workflows.Host.Timers;

/// <summary>One occurrence's run: whether it is past due, the previous occurrence, this one.</summary>
internal delegate Task ScheduledRun(bool isPastDue, DateTimeOffset? last, DateTimeOffset scheduled, CancellationToken cancellationToken);

/// <summary>A job on a schedule: one of the app's timer functions, or one of the host's own jobs (retention).</summary>
/// <param name="Name">The function's name, or the host job's (which has a dot, so no function name can clash).</param>
/// <param name="Schedule">Its six-field NCRONTAB schedule.</param>
/// <param name="RunOnStartup">Whether it also runs when the host takes its lease the first time.</param>
/// <param name="Run">One run.</param>
internal sealed record ScheduledJob(string Name, Cronos.CronExpression Schedule, bool RunOnStartup, ScheduledRun Run);

/// <summary>One of the host's own scheduled jobs (retention), registered as this service; its job is null when it has nothing to do.</summary>
internal interface IHostScheduledJob
{
    ScheduledJob? Job { get; }
}

/// <summary>
/// Runs the timer functions and the host's own scheduled jobs (<see cref="IHostScheduledJob"/>: retention). Each is a singleton
/// across the hosts sharing a task hub: only the holder of its blob lease runs it. The last and next occurrence are persisted, so an occurrence missed while no host was
/// up fires once (past due) when a host next takes the lease. Time comes from a <see cref="TimeProvider"/> (the
/// keyed service <see cref="ClockKey"/> when registered, else the host's), so tests fire timers with a fake clock.
/// </summary>
internal sealed class TimerScheduler : BackgroundService
{
    /// <summary>Service key of a <see cref="TimeProvider"/> used by timers only.</summary>
    public const string ClockKey = "Workflows.Timers";

    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan AcquireRetryInterval = TimeSpan.FromSeconds(15);

    private readonly TaskHubRuntime _taskHub;
    private readonly IReadOnlyList<IHostScheduledJob> _hostJobs;
    private readonly FunctionAppWorker _app;
    private readonly FunctionMetrics _metrics;
    private readonly FunctionsHostOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, bool> _holding = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _firstAttempts = new(StringComparer.OrdinalIgnoreCase);

    public TimerScheduler(
        TaskHubRuntime taskHub,
        FunctionAppWorker app,
        IServiceProvider services,
        FunctionMetrics metrics,
        IOptions<FunctionsHostOptions> options,
        IEnumerable<IHostScheduledJob> hostJobs,
        ILoggerFactory loggerFactory)
    {
        _hostJobs = [.. hostJobs];
        _taskHub = taskHub;
        _app = app;
        _metrics = metrics;
        _options = options.Value;
        _time = services.GetKeyedService<TimeProvider>(ClockKey) ?? services.GetRequiredService<TimeProvider>();
        _logger = loggerFactory.CreateLogger("Workflows.Host.Timers");
    }

    /// <summary>True while this host holds the timer's singleton lease.</summary>
    public bool Holds(string functionName) => _holding.TryGetValue(functionName, out var holds) && holds;

    /// <summary>Completes once this host has tried to take the timer's lease the first time.</summary>
    public Task FirstLeaseAttempt(string functionName) => FirstAttempt(functionName).Task;

    public static string StatusName(string functionName) => $"timers/{functionName}.status.json";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(Jobs().Select(job => RunAsync(job, stoppingToken)));

    /// <summary>The app's timers, then the host's own jobs that have something to do (retention with policies).</summary>
    private IEnumerable<ScheduledJob> Jobs()
    {
        foreach (var timer in _app.Catalog.Timers)
        {
            yield return new ScheduledJob(
                timer.Name,
                timer.Schedule,
                timer.RunOnStartup,
                (isPastDue, last, scheduled, cancellationToken) => InvokeAsync(timer, WorkerBindings.TimerTrigger(isPastDue, last, scheduled, _time.GetUtcNow()), cancellationToken));
        }

        foreach (var job in _hostJobs)
        {
            if (job.Job is { } scheduled)
            {
                yield return scheduled;
            }
        }
    }

    private TaskCompletionSource FirstAttempt(string functionName) =>
        _firstAttempts.GetOrAdd(functionName, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task RunAsync(ScheduledJob timer, CancellationToken stoppingToken)
    {
        var leaseName = $"timers/{timer.Name}.lease";
        var runOnStartup = timer.RunOnStartup;
        while (!stoppingToken.IsCancellationRequested)
        {
            string? lease = null;
            try
            {
                lease = await _taskHub.State.TryAcquireLeaseAsync(leaseName, LeaseDuration, stoppingToken).ConfigureAwait(false);
                _holding[timer.Name] = lease is not null;
                FirstAttempt(timer.Name).TrySetResult();
                if (lease is not null)
                {
                    await RunWhileHoldingAsync(timer, leaseName, lease, runOnStartup, stoppingToken).ConfigureAwait(false);
                    runOnStartup = false;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                HostLog.TimerStorageFailed(_logger, exception, timer.Name);
            }
            finally
            {
                _holding[timer.Name] = false;
                if (lease is not null)
                {
                    await ReleaseAsync(leaseName, lease).ConfigureAwait(false);
                }
            }

            try
            {
                await Task.Delay(AcquireRetryInterval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task RunWhileHoldingAsync(ScheduledJob timer, string leaseName, string lease, bool runOnStartup, CancellationToken stoppingToken)
    {
        var statusName = StatusName(timer.Name);
        var stored = await _taskHub.State.ReadAsync(statusName, stoppingToken).ConfigureAwait(false);
        var status = stored is null ? new TimerStatus(null, null) : JsonSerializer.Deserialize<TimerStatus>(stored) ?? new TimerStatus(null, null);
        var last = status.Last;
        if (status.Next is { } missed && missed <= _time.GetUtcNow())
        {
            // However many occurrences were missed, the run fires once, as Azure Functions' schedule monitor does.
            if (!await FireAsync(timer, leaseName, lease, missed, last, isPastDue: true, stoppingToken).ConfigureAwait(false))
            {
                return;
            }

            last = missed;
        }
        else if (runOnStartup)
        {
            var now = _time.GetUtcNow();
            if (!await FireAsync(timer, leaseName, lease, now, last, isPastDue: false, stoppingToken).ConfigureAwait(false))
            {
                return;
            }
        }

        var renewedAt = _time.GetUtcNow();
        var announced = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (Next(timer, _time.GetUtcNow()) is not { } next)
            {
                return;
            }

            await _taskHub.State.WriteAsync(statusName, JsonSerializer.Serialize(new TimerStatus(last, next)), stoppingToken).ConfigureAwait(false);
            if (!announced)
            {
                HostLog.TimerLeaseAcquired(_logger, timer.Name, next);
                announced = true;
            }

            while (_time.GetUtcNow() < next)
            {
                var wait = next - _time.GetUtcNow();
                await Task.Delay(wait < RenewInterval ? wait : RenewInterval, _time, stoppingToken).ConfigureAwait(false);
                if (_time.GetUtcNow() - renewedAt >= RenewInterval)
                {
                    if (!await _taskHub.State.RenewLeaseAsync(leaseName, lease, stoppingToken).ConfigureAwait(false))
                    {
                        HostLog.TimerLeaseLost(_logger, timer.Name);
                        return;
                    }

                    renewedAt = _time.GetUtcNow();
                }
            }

            if (!await FireAsync(timer, leaseName, lease, next, last, isPastDue: false, stoppingToken).ConfigureAwait(false))
            {
                return;
            }

            last = next;
        }
    }

    /// <summary>
    /// Runs one occurrence, renewing the lease while it runs so a long run keeps the timer on this host; false when
    /// the lease was lost meanwhile (another host runs the timer from now on).
    /// </summary>
    private async Task<bool> FireAsync(
        ScheduledJob timer, string leaseName, string lease, DateTimeOffset scheduled, DateTimeOffset? last, bool isPastDue, CancellationToken stoppingToken)
    {
        HostLog.TimerFired(_logger, timer.Name, scheduled, isPastDue);
        // As the Functions host's timer trigger: during a run the schedule status holds the previous occurrence (Last)
        // and this one (Next).
        var invocation = timer.Run(isPastDue, last, scheduled, stoppingToken);
        var held = true;
        while (!invocation.IsCompleted)
        {
            using var tickCancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var tick = Task.Delay(RenewInterval, _time, tickCancel.Token);
            var first = await Task.WhenAny(invocation, tick).ConfigureAwait(false);
            await tickCancel.CancelAsync().ConfigureAwait(false);
            stoppingToken.ThrowIfCancellationRequested();
            if (first == tick && held && !await _taskHub.State.RenewLeaseAsync(leaseName, lease, stoppingToken).ConfigureAwait(false))
            {
                HostLog.TimerLeaseLost(_logger, timer.Name);
                held = false;
            }
        }

        await invocation.ConfigureAwait(false);
        return held;
    }

    private async Task InvokeAsync(WorkerTimerEntry timer, TypedData trigger, CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        if (_options.FunctionTimeout is { } limit)
        {
            timeout.CancelAfter(limit);
        }

        try
        {
            var inputs = _app.Bindings.InputsFor(timer.Function).Prepend(new ParameterBinding { Name = timer.Function.Trigger!.Name, Data = trigger });
            await _metrics.MeasureAsync(timer.Name, "timerTrigger", async () =>
            {
                var response = await _app.Channel.InvokeAsync(timer.Name, inputs, triggerMetadata: null, timeout.Token).ConfigureAwait(false);
                return response.Result.Status == StatusResult.Types.Status.Success
                    ? true
                    : throw new InvalidOperationException(response.Result.Exception?.Message ?? "The timer function failed without an exception.");
            }).ConfigureAwait(false);
        }
        catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
        {
            // A failing run is logged and counted; the schedule goes on, as in Azure Functions.
            HostLog.FunctionFailed(_logger, exception, timer.Name, Guid.NewGuid().ToString("N"));
        }
    }

    private static DateTimeOffset? Next(ScheduledJob timer, DateTimeOffset after) =>
        timer.Schedule.GetNextOccurrence(after.UtcDateTime) is { } next ? new DateTimeOffset(next, TimeSpan.Zero) : null;

    /// <summary>How long a stopping host tries to give a timer lease back.</summary>
    private static readonly TimeSpan ReleaseBudget = TimeSpan.FromSeconds(3);

    private async Task ReleaseAsync(string leaseName, string lease)
    {
        // Released at once on shutdown, so another host takes over without waiting for the lease to expire. Best
        // effort within a few seconds: when storage is gone (Ctrl+C stops the Azurite this host started at the same
        // moment) the storage SDK would retry for half a minute, and the lease expires on its own anyway.
        using var budget = new CancellationTokenSource(ReleaseBudget, _time);
        try
        {
            await _taskHub.State.ReleaseLeaseAsync(leaseName, lease, budget.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || budget.IsCancellationRequested)
        {
            HostLog.TimerStorageFailed(_logger, exception, leaseName);
        }
    }
}
