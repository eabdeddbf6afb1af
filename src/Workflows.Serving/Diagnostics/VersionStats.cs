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

    /// <summary>Counts a mirrored request this version scored as the shadow, and whether it disagreed with the answer served.</summary>
    public void RecordShadow(bool disagreed)
    {
        lock (_gate)
        {
            var slot = Current();
            slot.ShadowCompared++;
            slot.ShadowDisagreed += disagreed ? 1 : 0;
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
        return Sum(now - windowSeconds + 1, now + 1, windowSeconds).Snapshot;
    }

    /// <summary>
    /// The figures of the whole seconds from <paramref name="fromSecond"/> up to, not including,
    /// <paramref name="toSecond"/> (Unix seconds), with the window's latency histogram. Seconds older than the kept
    /// window or later than now count nothing; <see cref="TimedWindow.Complete"/> says whether every second of the
    /// window is still kept and over.
    /// </summary>
    public TimedWindow Window(long fromSecond, long toSecond)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(fromSecond, toSecond);
        var now = Second();
        var oldestKept = now - _slots.Length + 1;
        var (snapshot, latency) = Sum(Math.Max(fromSecond, oldestKept), Math.Min(toSecond, now + 1), (int)Math.Min(toSecond - fromSecond, int.MaxValue));
        var histogram = new List<LatencyBucket>();
        for (var b = 0; b < latency.Length; b++)
        {
            if (latency[b] > 0)
            {
                histogram.Add(new LatencyBucket(UpperBound(b) / 1000.0, latency[b]));
            }
        }

        return new TimedWindow(fromSecond, toSecond, fromSecond >= oldestKept && toSecond <= now, snapshot, histogram);
    }

    /// <summary>Sums the slots of seconds in [<paramref name="first"/>, <paramref name="end"/>); rates are over <paramref name="seconds"/>.</summary>
    private (WindowSnapshot Snapshot, long[] Latency) Sum(long first, long end, int seconds)
    {
        var latency = new long[Buckets];
        long requests = 0, errors = 0, rows = 0, labelled = 0, correct = 0, compared = 0, disagreed = 0;
        lock (_gate)
        {
            foreach (var slot in _slots)
            {
                if (slot.Second >= first && slot.Second < end)
                {
                    requests += slot.Requests;
                    errors += slot.Errors;
                    rows += slot.Rows;
                    labelled += slot.Labelled;
                    correct += slot.Correct;
                    compared += slot.ShadowCompared;
                    disagreed += slot.ShadowDisagreed;
                    for (var b = 0; b < Buckets; b++)
                    {
                        latency[b] += slot.Latency[b];
                    }
                }
            }
        }

        var snapshot = new WindowSnapshot(
            seconds,
            requests,
            errors,
            rows,
            requests / (double)seconds,
            Percentile(latency, requests, 0.50),
            Percentile(latency, requests, 0.95),
            Percentile(latency, requests, 0.99),
            labelled,
            labelled == 0 ? null : correct / (double)labelled,
            compared,
            disagreed);
        return (snapshot, latency);
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

        public long ShadowCompared { get; set; }

        public long ShadowDisagreed { get; set; }

        public long[] Latency { get; } = new long[Buckets];

        public void Reset(long second)
        {
            Second = second;
            Requests = Errors = Rows = Labelled = Correct = ShadowCompared = ShadowDisagreed = 0;
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
/// <param name="ShadowCompared">Mirrored requests this version scored as the shadow and compared with the answer served.</param>
/// <param name="ShadowDisagreed">Of those, the ones that disagreed.</param>
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
    double? Accuracy,
    long ShadowCompared,
    long ShadowDisagreed);

/// <summary>One version's figures over the whole seconds [<see cref="FromSecond"/>, <see cref="ToSecond"/>).</summary>
/// <param name="FromSecond">First second of the window (Unix seconds).</param>
/// <param name="ToSecond">The second after the window's last.</param>
/// <param name="Complete">Whether every second of the window is over and still kept; when not, the figures cover only its kept, past part.</param>
/// <param name="Figures">The figures.</param>
/// <param name="Histogram">Latency buckets with requests, by upper bound in milliseconds (each within 12.5 % of the latencies in it), ascending; empty buckets left out.</param>
internal sealed record TimedWindow(long FromSecond, long ToSecond, bool Complete, WindowSnapshot Figures, IReadOnlyList<LatencyBucket> Histogram);

/// <summary>Requests whose latency fell in one histogram bucket.</summary>
/// <param name="UpperMs">The bucket's upper bound in milliseconds.</param>
/// <param name="Count">Requests in it.</param>
internal sealed record LatencyBucket(double UpperMs, long Count);
