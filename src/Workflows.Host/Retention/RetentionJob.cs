using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;
using Workflows.Host.TaskHub;
using Workflows.Host.Timers;

namespace Workflows.Host.Retention;

/// <summary>
/// Applies host.json's retention policies (<see cref="RetentionOptions"/>) on their schedule, as one of the
/// <see cref="TimerScheduler"/>'s jobs: a singleton across the hosts of a task hub, its last and next run persisted,
/// a run missed while no host was up made at the next start. A run pages through each policy's finished instances
/// created before its cutoff, <see cref="RetentionOptions.BatchSize"/> at a time, purges those of the policy's
/// orchestration one by one (history, instance row and large payload blobs, as a purge through the HTTP API), and
/// pauses <see cref="RetentionOptions.BatchPause"/> between batches, so the app's own storage traffic always has room.
/// Purging is idempotent: a run cut short (a crash, a lost lease) leaves the rest to the next run, which finds them
/// by the same query.
/// </summary>
internal sealed class RetentionJob(TaskHubRuntime taskHub, IOptions<FunctionsHostOptions> options, TimeProvider time, ILoggerFactory loggerFactory) : IHostScheduledJob
{
    /// <summary>The job's name for its lease and persisted schedule (a dot, which no function name has).</summary>
    public const string Name = "host.retention";

    private readonly RetentionOptions _options = options.Value.Retention;
    private readonly ILogger _logger = loggerFactory.CreateLogger("Workflows.Host.Retention");

    /// <summary>The job for the scheduler; null when host.json names no policy.</summary>
    public ScheduledJob? Job => _options.Policies.Count == 0
        ? null
        : new ScheduledJob(Name, _options.Schedule, RunOnStartup: false, (_, _, scheduled, cancellationToken) => RunLoggedAsync(scheduled, cancellationToken));

    /// <summary>One run as of <paramref name="now"/>: every policy in turn; returns how many instances were purged.</summary>
    public async Task<int> RunAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var policy in _options.Policies)
        {
            var cutoff = now - policy.MaxAge;
            var purged = 0;
            var query = new OrchestrationQuery { CreatedTo = cutoff, Statuses = policy.Statuses, PageSize = _options.BatchSize, FetchInputsAndOutputs = false };
            var first = true;
            await foreach (var page in taskHub.Client.GetAllInstancesAsync(query).AsPages(pageSizeHint: _options.BatchSize).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (!first && _options.BatchPause > TimeSpan.Zero)
                {
                    await Task.Delay(_options.BatchPause, time, cancellationToken).ConfigureAwait(false);
                }

                first = false;
                foreach (var instance in page.Values.Where(instance => policy.Covers(instance.Name)))
                {
                    try
                    {
                        var result = await taskHub.Client.PurgeInstanceAsync(instance.InstanceId, cancellation: cancellationToken).ConfigureAwait(false);
                        purged += result.PurgedInstanceCount;
                    }
                    catch (InvalidOperationException exception)
                    {
                        // Started again under its id since the query (a fixed id, a timer's): it is live now, and stays.
                        HostLog.RetentionSkipped(_logger, instance.InstanceId, exception.Message);
                    }
                }
            }

            if (purged > 0)
            {
                HostLog.RetentionPurged(_logger, purged, policy.ToString(), cutoff);
            }

            total += purged;
        }

        return total;
    }

    private async Task RunLoggedAsync(DateTimeOffset scheduled, CancellationToken cancellationToken)
    {
        try
        {
            await RunAsync(scheduled, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The instances left are found by the next run's query.
            HostLog.RetentionFailed(_logger, exception);
        }
    }
}
