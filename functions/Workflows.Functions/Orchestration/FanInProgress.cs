using Microsoft.DurableTask;

namespace Workflows.Functions.Orchestration;

/// <summary>
/// Awaits a fan-out task by task and keeps customStatus current: phase, chunks done of total, rows/s since the
/// phase began (orchestration time, so replay computes the same figures).
/// </summary>
internal sealed class FanInProgress(TaskOrchestrationContext context, string phase, int totalChunks)
{
    private readonly DateTime _started = context.CurrentUtcDateTime;

    /// <summary>
    /// Results in the order of <paramref name="tasks"/>. Awaiting in list order (not <c>WhenAny</c>, which costs
    /// O(n) per completion) keeps a 100,000-chunk fan-in linear; the tasks still all run in parallel.
    /// </summary>
    public async Task<TResult[]> WhenAllAsync<TResult>(IReadOnlyList<Task<TResult>> tasks, Func<TResult, long> rowsOf, Func<TResult, int>? chunksOf = null)
    {
        var results = new TResult[tasks.Count];
        var chunks = 0;
        long rows = 0;
        Report(chunks, rows);
        for (var i = 0; i < tasks.Count; i++)
        {
            results[i] = await tasks[i];
            chunks += chunksOf?.Invoke(results[i]) ?? 1;
            rows += rowsOf(results[i]);
            Report(chunks, rows);
        }

        return results;
    }

    private void Report(int chunks, long rows)
    {
        var seconds = (context.CurrentUtcDateTime - _started).TotalSeconds;
        context.SetCustomStatus(new
        {
            phase,
            chunksDone = chunks,
            chunksTotal = totalChunks,
            rows,
            rowsPerSecond = seconds > 0 ? Math.Round(rows / seconds) : 0,
        });
    }
}
