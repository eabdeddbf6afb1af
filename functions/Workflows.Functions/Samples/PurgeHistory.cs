using Microsoft.Extensions.Logging;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Host;
using Workflows.Host.Functions;

namespace Workflows.Functions.Samples;

/// <summary>
/// Nightly housekeeping: purges finished instances (and their history) older than the retention, so the task hub
/// does not grow without bound. The schedule is six-field NCRONTAB (03:00:00 UTC).
/// </summary>
public static class PurgeHistory
{
    /// <summary>How long finished instances are kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    [Function("PurgeHistory")]
    public static async Task<int> Run(
        [TimerTrigger("0 0 3 * * *")] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        ArgumentNullException.ThrowIfNull(client);
        var result = await client.PurgeAllInstancesAsync(
            new PurgeInstancesFilter(
                CreatedTo: timer.ScheduledTime - Retention,
                Statuses: [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated]),
            cancellationToken);
        logger.LogInformation("Purged {Count} instances created before {Cutoff:O}", result.PurgedInstanceCount, timer.ScheduledTime - Retention);
        return result.PurgedInstanceCount;
    }
}
