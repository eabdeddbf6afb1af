using System.Globalization;

namespace Workflows.Durable.AzureStorage.TestWorker;

/// <summary>
/// An append-only file of activity executions, one per worker process: a <c>start</c> line when an execution
/// begins and an <c>end</c> line when it returns, each with the call's key (<see cref="RecordedWork.CallKey"/>: the
/// instance and the call's input, as the SDK's activity context has no idempotency key) and a UTC timestamp in ticks.
/// Every line is flushed at once, so a killed process leaves everything it started on disk. The tests read the
/// files of all processes back to check that no two processes ran the same call at the same time.
/// </summary>
/// <remarks>Compiled into the worker (which writes) and into the test assembly (which reads).</remarks>
internal sealed class ExecutionJournal : IDisposable
{
    private const string StartKind = "start";
    private const string EndKind = "end";

    private readonly Lock _gate = new();
    private readonly StreamWriter _writer;

    public ExecutionJournal(string path)
    {
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _writer = new StreamWriter(stream) { AutoFlush = true };
    }

    public void Started(string idempotencyKey) => Append(StartKind, idempotencyKey);

    public void Ended(string idempotencyKey) => Append(EndKind, idempotencyKey);

    public void Dispose() => _writer.Dispose();

    /// <summary>
    /// The executions recorded in <paramref name="path"/>, in start order. An execution without an end line (its
    /// process was killed while it ran) ends at <see cref="DateTime.MaxValue"/>: it may have run until the kill.
    /// A torn last line (the kill landed inside a write) is ignored.
    /// </summary>
    public static IReadOnlyList<ActivityExecution> Read(string path, string worker)
    {
        var open = new Dictionary<string, Queue<DateTime>>(StringComparer.Ordinal);
        var executions = new List<ActivityExecution>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            var parts = line.Split('\t');
            if (parts.Length != 3 || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
            {
                continue;
            }

            var at = new DateTime(ticks, DateTimeKind.Utc);
            var key = parts[1];
            if (parts[0] == StartKind)
            {
                if (!open.TryGetValue(key, out var starts))
                {
                    open[key] = starts = new Queue<DateTime>();
                }

                starts.Enqueue(at);
            }
            else if (parts[0] == EndKind && open.TryGetValue(key, out var starts) && starts.Count > 0)
            {
                executions.Add(new ActivityExecution(worker, key, starts.Dequeue(), at));
            }
        }

        foreach (var (key, starts) in open)
        {
            foreach (var start in starts)
            {
                executions.Add(new ActivityExecution(worker, key, start, DateTime.MaxValue));
            }
        }

        executions.Sort((a, b) => a.Start.CompareTo(b.Start));
        return executions;
    }

    private void Append(string kind, string idempotencyKey)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{kind}\t{idempotencyKey}\t{DateTime.UtcNow.Ticks}");
        lock (_gate)
        {
            _writer.WriteLine(line);
        }
    }
}

/// <summary>One run of an activity call in one worker process, from its start to its return.</summary>
internal sealed record ActivityExecution(string Worker, string IdempotencyKey, DateTime Start, DateTime End)
{
    public bool Overlaps(ActivityExecution other) => Start < other.End && other.Start < End;
}
