using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Workflows.DurableTask.Client;

namespace Workflows.Host.Http;

/// <summary>
/// Instance counts per runtime status for a filter, as the dashboard shows them: one pass over the task hub's query
/// per filter at a time (callers asking while it runs share it), and its answer reused for <see cref="Reuse"/>, so
/// many open dashboards on a big task hub cost one scan every few seconds, not one per page view. At most
/// <see cref="MaxConcurrentScans"/> scans run at once, and a stopping host stops them.
/// </summary>
internal sealed class InstanceCountCache(TimeProvider time, IHostApplicationLifetime lifetime) : IDisposable
{
    /// <summary>How long an answer is served again for the same filter.</summary>
    public static readonly TimeSpan Reuse = TimeSpan.FromSeconds(5);

    /// <summary>Scans at once; the others wait their turn.</summary>
    public const int MaxConcurrentScans = 2;

    /// <summary>Filters remembered at most; past it the finished ones are forgotten (they only save scans).</summary>
    private const int MaxFilters = 64;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Task<Answer>> _answers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _scans = new(MaxConcurrentScans, MaxConcurrentScans);

    /// <summary>
    /// The counts of the instances that match <paramref name="filter"/> and <paramref name="namePrefix"/>, counting at
    /// most <paramref name="limit"/>.
    /// </summary>
    public Task<Answer> GetAsync(OrchestrationServiceDurableTaskClient client, OrchestrationQuery filter, string? namePrefix, long limit)
    {
        var key = string.Join(
            '\u001f',
            limit,
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
                foreach (var done in _answers.Where(static a => a.Value.IsCompleted).Select(static a => a.Key).ToList())
                {
                    _answers.Remove(done);
                }
            }

            // Not tied to one caller's request (the scan serves everyone waiting for it), and started outside the lock.
            var scan = Task.Run(() => CountAsync(client, filter, namePrefix, limit));
            _answers[key] = scan;
            return scan;
        }
    }

    public void Dispose() => _scans.Dispose();

    private async Task<Answer> CountAsync(OrchestrationServiceDurableTaskClient client, OrchestrationQuery filter, string? namePrefix, long limit)
    {
        var stopping = lifetime.ApplicationStopping;
        await _scans.WaitAsync(stopping).ConfigureAwait(false);
        try
        {
            var started = time.GetTimestamp();
            var counts = await client.CountInstancesAsync(filter, namePrefix, limit, cancellation: stopping).ConfigureAwait(false);
            return new Answer(counts, time.GetUtcNow(), time.GetElapsedTime(started));
        }
        finally
        {
            _scans.Release();
        }
    }

    /// <summary>The counts, when the scan ended and how long it took.</summary>
    public sealed record Answer(InstanceCounts Counts, DateTimeOffset AsOf, TimeSpan Took);
}
