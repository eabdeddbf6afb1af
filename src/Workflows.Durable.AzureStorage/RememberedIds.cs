using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure.Data.Tables;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// The envelope ids of committed queue messages that an instance's sentinel remembers, so that a copy of such a message
/// received again is deleted instead of delivered (docs/task-hub-commit-protocol.md, "Remembered message ids"). The ids
/// are kept in commit order, in runs by the worker run that committed them and the time until which that worker's copies
/// may still come back.
/// </summary>
/// <remarks>
/// The rule, applied at every commit by a worker run <c>W</c>: the last <see cref="HistoryStore.RememberedMessageIds"/>
/// (N) ids committed form the window and are always kept. An id older than the window is evicted when it is
/// <b>evictable</b>: committed by <c>W</c> in its current run of commits (the last run before this commit: <c>W</c>
/// deletes its own copies before its next commit), or committed by anyone once that run's hold has passed (its worker's
/// held copies have shown again or were deleted by then), or recorded before runs were. Other ids older than the window
/// stay: at most <see cref="Cap"/> ids are remembered, and a work item takes no more queue messages than keep the total
/// within it (<see cref="QueueMessageRoom"/>); an instance with no room waits until the earliest hold ends.
/// </remarks>
internal sealed class RememberedIds
{
    /// <summary>Ids per sentinel property: 800 ids of 32 characters and a comma are 26,400 characters, within the 32K-character limit of a string property.</summary>
    internal const int IdsPerProperty = 800;

    /// <summary>The property with the first <see cref="IdsPerProperty"/> ids; the following ones are <c>ProcessedIds1</c>, <c>ProcessedIds2</c> ...</summary>
    internal const string IdsProperty = "ProcessedIds";

    /// <summary>The runs of <see cref="IdsProperty"/>: JSON, one entry per run of ids committed by one worker run.</summary>
    internal const string RunsProperty = "ProcessedBy";

    /// <summary>Most runs recorded; past it the two oldest held runs are merged (the later hold for both).</summary>
    private const int MaxRuns = 32;

    /// <summary>A committer that matches no worker: runs merged from different workers are held for every committer.</summary>
    private const string Merged = "*";

    private static readonly JsonSerializerOptions JsonOptions = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private readonly List<Run> _runs;
    private HashSet<string>? _set;

    private RememberedIds(List<Run> runs) => _runs = runs;

    /// <summary>How many ids are remembered.</summary>
    public int Count => _runs.Sum(r => r.Ids.Count);

    /// <summary>The ids, oldest first.</summary>
    public IEnumerable<string> All => _runs.SelectMany(r => r.Ids);

    /// <summary>
    /// Most ids remembered with a window of <paramref name="window"/>: the window and twice as many ids of other workers
    /// whose copies may still come back (two handovers with full windows within one hold).
    /// </summary>
    public static int Cap(int window) => 3 * window;

    /// <summary>The ids that <paramref name="sentinel"/> remembers (none without a sentinel).</summary>
    public static RememberedIds Of(TableEntity? sentinel)
    {
        if (sentinel is null)
        {
            return new RememberedIds([]);
        }

        var ids = new List<string>();
        for (var part = 0; sentinel.GetString(PropertyName(part)) is { } text; part++)
        {
            if (text.Length > 0)
            {
                ids.AddRange(text.Split(','));
            }
        }

        var runs = new List<Run>();
        var taken = 0;
        if (sentinel.GetString(RunsProperty) is { Length: > 0 } json)
        {
            foreach (var entry in JsonSerializer.Deserialize<List<RunEntry>>(json, JsonOptions) ?? [])
            {
                var count = Math.Min(entry.Count, ids.Count - taken);
                runs.Add(new Run(entry.By, entry.Until, ids.GetRange(taken, count)));
                taken += count;
            }
        }

        if (taken < ids.Count)
        {
            // Ids without a recorded run (written before runs were recorded): evictable by count, as they always were.
            runs.Insert(0, new Run(null, DateTimeOffset.MinValue, ids.GetRange(taken, ids.Count - taken)));
        }

        return new RememberedIds(runs);
    }

    /// <summary>Whether the envelope id is remembered: a copy of a message whose event history already holds.</summary>
    public bool Contains(string? envelopeId)
    {
        if (envelopeId is null)
        {
            return false;
        }

        _set ??= All.ToHashSet(StringComparer.Ordinal);
        return _set.Contains(envelopeId);
    }

    /// <summary>How many ids a commit by <paramref name="committer"/> at <paramref name="now"/> could not evict.</summary>
    public int HeldCount(string committer, DateTimeOffset now) => _runs.Where((r, i) => !Evictable(r, i, committer, now)).Sum(r => r.Ids.Count);

    /// <summary>When the earliest hold that keeps ids from a commit by <paramref name="committer"/> at <paramref name="now"/> ends; null when none does.</summary>
    public DateTimeOffset? NextHoldEnd(string committer, DateTimeOffset now) =>
        _runs.Where((r, i) => !Evictable(r, i, committer, now)).Select(r => (DateTimeOffset?)r.Until).Min();

    /// <summary>
    /// How many queue messages the next work item of <paramref name="committer"/> may take at <paramref name="now"/>:
    /// half the window (so that its ids stay in the window for at least one more full commit), and no more than keep
    /// the remembered ids within <see cref="Cap"/> after its commit. Zero: the instance waits for <see cref="NextHoldEnd"/>.
    /// </summary>
    public int QueueMessageRoom(string committer, DateTimeOffset now, int window)
    {
        var room = window / 2;
        while (room > 0 && CountAfter(committer, now, room, window) > Cap(window))
        {
            room--;
        }

        return room;
    }

    /// <summary>
    /// The ids after a commit by <paramref name="committer"/> at <paramref name="now"/> that consumed
    /// <paramref name="committed"/>, whose copies may come back until <paramref name="holdUntil"/>: appended, and the
    /// evictable ids older than the last <paramref name="window"/> evicted.
    /// </summary>
    public RememberedIds Append(string committer, DateTimeOffset now, DateTimeOffset holdUntil, IReadOnlyCollection<string> committed, int window)
    {
        var runs = _runs.Select(r => r with { Ids = [.. r.Ids] }).ToList();
        if (runs.Count > 0 && runs[^1].By == committer)
        {
            // The same worker run committed last: its run goes on, held from its latest commit.
            var last = runs[^1];
            runs[^1] = last with { Until = holdUntil > last.Until ? holdUntil : last.Until, Ids = [.. last.Ids, .. committed] };
        }
        else
        {
            runs.Add(new Run(committer, holdUntil, [.. committed]));
        }

        // The oldest ids, up to the window, are outside it; of those, the evictable ones go.
        var outside = runs.Sum(r => r.Ids.Count) - window;
        for (var i = 0; i < runs.Count && outside > 0; i++)
        {
            var run = runs[i];
            var overlap = Math.Min(outside, run.Ids.Count);
            if (Evictable(run, i, runs.Count - 1, committer, now))
            {
                run.Ids.RemoveRange(0, overlap);
            }

            outside -= overlap;
        }

        runs.RemoveAll(r => r.Ids.Count == 0);
        MergeExpired(runs, now);
        while (runs.Count > MaxRuns)
        {
            // Bound the bookkeeping: the two oldest runs become one, held for every committer until the later hold ends.
            var (first, second) = (runs[0], runs[1]);
            runs[0] = new Run(Merged, first.Until > second.Until ? first.Until : second.Until, [.. first.Ids, .. second.Ids]);
            runs.RemoveAt(1);
        }

        return new RememberedIds(runs);
    }

    /// <summary>Writes the ids and their runs into a new sentinel.</summary>
    public void WriteTo(TableEntity sentinel)
    {
        var ids = All.ToList();
        sentinel[IdsProperty] = string.Join(',', ids.Take(IdsPerProperty));
        for (var part = 1; part * IdsPerProperty < ids.Count; part++)
        {
            sentinel[PropertyName(part)] = string.Join(',', ids.Skip(part * IdsPerProperty).Take(IdsPerProperty));
        }

        sentinel[RunsProperty] = JsonSerializer.Serialize(_runs.Select(r => new RunEntry(r.By, r.Until, r.Ids.Count)), JsonOptions);
    }

    /// <summary>
    /// The one rule for copies of committed messages: every message of <paramref name="messages"/> whose envelope id is
    /// remembered is deleted from its queue instead of delivered. Returns the messages left to deliver and how many were
    /// dropped. A storage failure propagates; the caller puts the messages back.
    /// </summary>
    public async Task<(List<ReceivedMessage> Messages, int Dropped)> DropCopiesAsync(List<ReceivedMessage> messages, TaskHubQueues queues, CancellationToken cancellationToken)
    {
        var copies = messages.Where(m => Contains(m.EnvelopeId)).ToList();
        foreach (var copy in copies)
        {
            await queues.DeleteAsync(copy, cancellationToken).ConfigureAwait(false);
        }

        return copies.Count == 0 ? (messages, 0) : (messages.Except(copies).ToList(), copies.Count);
    }

    /// <summary>How many ids a commit of <paramref name="committed"/> queue messages by <paramref name="committer"/> at <paramref name="now"/> would leave (as <see cref="Append"/> evicts).</summary>
    private int CountAfter(string committer, DateTimeOffset now, int committed, int window)
    {
        var total = Count + committed;
        var outside = total - window;
        var kept = 0;

        // The committer's own last run goes on (evictable); any other last run becomes an earlier one.
        var lastIndex = _runs.Count > 0 && _runs[^1].By == committer ? _runs.Count - 1 : _runs.Count;
        for (var i = 0; i < _runs.Count && outside > 0; i++)
        {
            var overlap = Math.Min(outside, _runs[i].Ids.Count);
            if (!Evictable(_runs[i], i, lastIndex, committer, now))
            {
                kept += overlap;
            }

            outside -= overlap;
        }

        return Math.Min(total, window) + kept;
    }

    private static string PropertyName(int part) => part == 0 ? IdsProperty : IdsProperty + part.ToString(CultureInfo.InvariantCulture);

    private bool Evictable(Run run, int index, string committer, DateTimeOffset now) => Evictable(run, index, _runs.Count - 1, committer, now);

    /// <summary>Recorded before runs were, past its hold, or the committer's own current run (the last one).</summary>
    private static bool Evictable(Run run, int index, int lastIndex, string committer, DateTimeOffset now) =>
        run.By is null || run.Until <= now || (index == lastIndex && run.By == committer);

    /// <summary>Adjacent runs whose holds have passed are evictable alike: they become one run without a committer.</summary>
    private static void MergeExpired(List<Run> runs, DateTimeOffset now)
    {
        for (var i = runs.Count - 2; i >= 0; i--)
        {
            if (Expired(runs[i], now) && Expired(runs[i + 1], now) && i + 1 < runs.Count - 1)
            {
                runs[i] = new Run(null, DateTimeOffset.MinValue, [.. runs[i].Ids, .. runs[i + 1].Ids]);
                runs.RemoveAt(i + 1);
            }
        }

        static bool Expired(Run run, DateTimeOffset now) => run.By is null || run.Until <= now;
    }

    /// <summary>Ids committed by one worker run (null: recorded before runs were), whose copies may come back until <paramref name="Until"/>.</summary>
    private sealed record Run(string? By, DateTimeOffset Until, List<string> Ids);

    private sealed record RunEntry(
        [property: JsonPropertyName("by")] string? By,
        [property: JsonPropertyName("until")] DateTimeOffset Until,
        [property: JsonPropertyName("n")] int Count);
}
