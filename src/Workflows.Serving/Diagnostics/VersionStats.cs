namespace Workflows.Serving.Diagnostics;

/// <summary>
/// One model version's figures over a sliding window of one-second slots: requests, errors, rows, labelled and correct
/// feedback rows, and a log-linear latency histogram (8 sub-buckets per power of two of microseconds, so a percentile
/// is within 12.5 %) from which any window's p50/p95/p99 is read. Slots are recycled as the clock moves on; time comes
/// from a <see cref="TimeProvider"/>.
/// </summary>
internal sealed class VersionStats
{
    private const int Buckets = 16 + (31 - 3) * 8;
    private readonly Slot[] _slots;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _gate = new();

    public VersionStats(int windowSeconds, TimeProvider timeProvider)
    {
        _slots = new Slot[windowSeconds];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot();
        }

        _timeProvider = timeProvider;
    }

    public void RecordRequest(TimeSpan latency, int rows)
    {
        var micros = (long)latency.TotalMicroseconds;
        lock (_gate)
        {
            var slot = Current();
            slot.Requests++;
            slot.Rows += rows;
            slot.Latency[BucketOf(micros)]++;
        }
    }

    public void RecordError()
    {
        lock (_gate)
        {
            Current().Errors++;
        }
    }

    public void RecordFeedback(int labelled, int correct)
    {
        lock (_gate)
        {
            var slot = Current();
            slot.Labelled += labelled;
            slot.Correct += correct;
        }
    }

    /// <summary>The figures of the last <paramref name="windowSeconds"/> seconds (at most the kept window).</summary>
    public WindowSnapshot Snapshot(int windowSeconds)
    {
        windowSeconds = Math.Clamp(windowSeconds, 1, _slots.Length);
        var now = Second();
        var latency = new long[Buckets];
        long requests = 0, errors = 0, rows = 0, labelled = 0, correct = 0;
        lock (_gate)
        {
            foreach (var slot in _slots)
            {
                if (slot.Second > now - windowSeconds && slot.Second <= now)
                {
                    requests += slot.Requests;
                    errors += slot.Errors;
                    rows += slot.Rows;
                    labelled += slot.Labelled;
                    correct += slot.Correct;
                    for (var b = 0; b < Buckets; b++)
                    {
                        latency[b] += slot.Latency[b];
                    }
                }
            }
        }

        return new WindowSnapshot(
            windowSeconds,
            requests,
            errors,
            rows,
            requests / (double)windowSeconds,
            Percentile(latency, requests, 0.50),
            Percentile(latency, requests, 0.95),
            Percentile(latency, requests, 0.99),
            labelled,
            labelled == 0 ? null : correct / (double)labelled);
    }

    /// <summary>The bucket of a latency in microseconds: exact below 16, then 8 sub-buckets per power of two.</summary>
    internal static int BucketOf(long micros)
    {
        if (micros < 16)
        {
            return (int)Math.Max(micros, 0);
        }

        var exponent = (int)Math.Min(63 - long.LeadingZeroCount(micros), 30);
        var sub = (int)((micros >> (exponent - 3)) & 7);
        return 16 + ((exponent - 4) * 8) + sub;
    }

    /// <summary>The upper bound, in microseconds, of a bucket.</summary>
    internal static double UpperBound(int bucket)
    {
        if (bucket < 16)
        {
            return bucket + 1;
        }

        var exponent = ((bucket - 16) / 8) + 4;
        var sub = (bucket - 16) % 8;
        return (1L << exponent) + ((sub + 1L) << (exponent - 3));
    }

    private static double? Percentile(long[] latency, long count, double quantile)
    {
        if (count == 0)
        {
            return null;
        }

        var rank = (long)Math.Ceiling(quantile * count);
        long seen = 0;
        for (var b = 0; b < latency.Length; b++)
        {
            seen += latency[b];
            if (seen >= rank)
            {
                return UpperBound(b) / 1000.0;
            }
        }

        return UpperBound(latency.Length - 1) / 1000.0;
    }

    private long Second() => _timeProvider.GetUtcNow().ToUnixTimeSeconds();

    private Slot Current()
    {
        var second = Second();
        var slot = _slots[second % _slots.Length];
        if (slot.Second != second)
        {
            slot.Reset(second);
        }

        return slot;
    }

    private sealed class Slot
    {
        public long Second { get; private set; } = long.MinValue;

        public long Requests { get; set; }

        public long Errors { get; set; }

        public long Rows { get; set; }

        public long Labelled { get; set; }

        public long Correct { get; set; }

        public long[] Latency { get; } = new long[Buckets];

        public void Reset(long second)
        {
            Second = second;
            Requests = Errors = Rows = Labelled = Correct = 0;
            Array.Clear(Latency);
        }
    }
}

/// <summary>One version's figures over a window.</summary>
/// <param name="WindowSeconds">The window.</param>
/// <param name="Requests">Requests answered.</param>
/// <param name="Errors">Requests that failed while scoring.</param>
/// <param name="Rows">Rows scored.</param>
/// <param name="RequestsPerSecond">Requests over the window's seconds.</param>
/// <param name="P50Ms">Median latency in milliseconds (bucket upper bound), null without requests.</param>
/// <param name="P95Ms">95th percentile.</param>
/// <param name="P99Ms">99th percentile.</param>
/// <param name="LabelledRows">Rows whose label came back as feedback.</param>
/// <param name="Accuracy">Correct over labelled rows, null without feedback.</param>
internal sealed record WindowSnapshot(
    int WindowSeconds,
    long Requests,
    long Errors,
    long Rows,
    double RequestsPerSecond,
    double? P50Ms,
    double? P95Ms,
    double? P99Ms,
    long LabelledRows,
    double? Accuracy);
