using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.DurableTask.Client;

namespace Workflows.Functions.Samples;

/// <summary>
/// Nightly housekeeping: purges finished instances (and their history) created more than <see cref="Retention"/>
/// before the run, so the task hub does not grow without bound. The schedule is six-field NCRONTAB (03:00:00 UTC).
/// </summary>
public sealed class PurgeHistory(TimeProvider timeProvider, ILogger<PurgeHistory> logger)
{
    /// <summary>Function name.</summary>
    public const string Name = "PurgeHistory";

    /// <summary>How long finished instances are kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    /// <summary>Purges the finished instances created before now minus <see cref="Retention"/>; returns how many.</summary>
    [Function(Name)]
    public async Task<int> Run(
        [TimerTrigger("0 0 3 * * *")] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        ArgumentNullException.ThrowIfNull(client);
        var cutoff = timeProvider.GetUtcNow() - Retention;
        var result = await client.PurgeAllInstancesAsync(
            new PurgeInstancesFilter(
                CreatedTo: cutoff,
                Statuses: [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated]),
            cancellationToken);
        logger.LogInformation("Purged {Count} instances created before {Cutoff:O}", result.PurgedInstanceCount, cutoff);
        return result.PurgedInstanceCount;
    }
}
