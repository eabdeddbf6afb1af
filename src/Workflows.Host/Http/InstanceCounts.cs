using Microsoft.DurableTask.Client;
using Workflows.DurableTask.Client;

namespace Workflows.Host.Http;

/// <summary>
/// Instance counts per runtime status for a filter, as the dashboard shows them: one pass over the task hub's query
/// per filter at a time (callers asking while it runs share it), and its answer reused for <see cref="Reuse"/>, so
/// many open dashboards on a big task hub cost one scan every few seconds, not one per page view.
/// </summary>
internal sealed class InstanceCounts(TimeProvider time)
{
    /// <summary>How long an answer is served again for the same filter.</summary>
    public static readonly TimeSpan Reuse = TimeSpan.FromSeconds(5);

    /// <summary>Filters remembered at most; past it the memory starts over (it only saves scans).</summary>
    private const int MaxFilters = 64;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Task<Answer>> _answers = new(StringComparer.Ordinal);

    /// <summary>The counts of the instances that match <paramref name="filter"/> and <paramref name="namePrefix"/>.</summary>
    public Task<Answer> GetAsync(OrchestrationServiceDurableTaskClient client, OrchestrationQuery filter, string? namePrefix)
    {
        var key = string.Join(
            '\u001f',
            namePrefix ?? string.Empty,
            filter.InstanceIdPrefix ?? string.Empty,
            filter.CreatedFrom?.UtcTicks,
            filter.CreatedTo?.UtcTicks,
            string.Join(',', (filter.Statuses ?? []).Order()));
        lock (_gate)
        {
            if (_answers.TryGetValue(key, out var known)
                && (!known.IsCompleted || (known.IsCompletedSuccessfully && time.GetUtcNow() - known.Result.AsOf < Reuse)))
            {
                return known;
            }

            if (_answers.Count >= MaxFilters)
            {
                _answers.Clear();
            }

            // Not tied to one caller's request: the scan serves everyone waiting for it.
            var scan = CountAsync(client, filter, namePrefix);
            _answers[key] = scan;
            return scan;
        }
    }

    private async Task<Answer> CountAsync(OrchestrationServiceDurableTaskClient client, OrchestrationQuery filter, string? namePrefix)
    {
        var started = time.GetTimestamp();
        var counts = await client.CountInstancesAsync(filter, namePrefix).ConfigureAwait(false);
        return new Answer(counts, time.GetUtcNow(), time.GetElapsedTime(started));
    }

    /// <summary>The counts, when the scan ended and how long it took.</summary>
    public sealed record Answer(IReadOnlyDictionary<OrchestrationRuntimeStatus, long> Counts, DateTimeOffset AsOf, TimeSpan Took);
}
