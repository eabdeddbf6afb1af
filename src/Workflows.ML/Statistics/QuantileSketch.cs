using System.Text.Json.Serialization;

namespace Workflows.ML.Statistics;

/// <summary>
/// A mergeable quantile sketch with a deterministic rank-error guarantee: a hierarchy of compactors of equal
/// capacity k (the Manku–Rajagopalan–Lindsay / KLL compactor with deterministic, alternating offsets). Level h
/// holds items of weight 2^h; a full level is sorted and every other item moves up with twice the weight.
/// <para>
/// <b>Error bound.</b> One compaction at level h moves the weighted rank of any value by at most 2^h, so the sketch
/// adds 2^h to <see cref="MaxRankError"/> per compaction and a merge adds the two sketches' bounds. For every
/// quantile q the returned value v satisfies #{x &lt; v} &lt; q·n + E and #{x ≤ v} ≥ q·n − E, with E =
/// <see cref="MaxRankError"/>, however the data was split and merged. Since each compaction at level h consumes at
/// least k items of weight 2^h, E ≤ n·L/k where L is the number of levels (about log2(n/k) + 1): for k = 1024 and
/// n = 10^6, at most 1 % of n, and in practice far less because alternating offsets cancel.
/// </para>
/// </summary>
public sealed class QuantileSketch
{
    /// <summary>Default capacity per level.</summary>
    public const int DefaultCapacity = 1024;

    private readonly List<double[]> _levels = [];
    private readonly List<int> _sizes = [];
    private readonly List<bool> _oddOffset = [];

    /// <summary>Creates an empty sketch with <paramref name="capacity"/> items per level (even, at least 8).</summary>
    public QuantileSketch(int capacity = DefaultCapacity)
    {
        if (capacity < 8 || capacity % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be even and at least 8.");
        }

        Capacity = capacity;
    }

    /// <summary>Restores a serialized sketch.</summary>
    [JsonConstructor]
    public QuantileSketch(int capacity, long count, long maxRankError, IReadOnlyList<double[]> levels)
        : this(capacity)
    {
        ArgumentNullException.ThrowIfNull(levels);
        Count = count;
        MaxRankError = maxRankError;
        for (var h = 0; h < levels.Count; h++)
        {
            EnsureLevel(h);
            levels[h].CopyTo(_levels[h], 0);
            _sizes[h] = levels[h].Length;
        }
    }

    /// <summary>Items per level before it is compacted.</summary>
    public int Capacity { get; }

    /// <summary>Number of values added (directly or through merges).</summary>
    public long Count { get; private set; }

    /// <summary>Guaranteed bound on the rank error of any quantile, in values (see the class remarks).</summary>
    public long MaxRankError { get; private set; }

    /// <summary>The retained items per level (weight 2^level), for serialization.</summary>
    public IReadOnlyList<double[]> Levels
    {
        get
        {
            var levels = new double[_levels.Count][];
            for (var h = 0; h < levels.Length; h++)
            {
                levels[h] = _levels[h].AsSpan(0, _sizes[h]).ToArray();
            }

            return levels;
        }
    }

    /// <summary>Adds every non-NaN value.</summary>
    public void Add(ReadOnlySpan<float> values)
    {
        EnsureLevel(0);
        foreach (var value in values)
        {
            if (!float.IsNaN(value))
            {
                AddToLevelZero(value);
            }
        }
    }

    /// <summary>Adds every non-NaN value.</summary>
    public void Add(ReadOnlySpan<double> values)
    {
        EnsureLevel(0);
        foreach (var value in values)
        {
            if (!double.IsNaN(value))
            {
                AddToLevelZero(value);
            }
        }
    }

    /// <summary>Adds the items of <paramref name="other"/> (same capacity) to this sketch.</summary>
    public void Merge(QuantileSketch other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Capacity != Capacity)
        {
            throw new ArgumentException($"cannot merge a sketch of capacity {other.Capacity} into one of capacity {Capacity}.", nameof(other));
        }

        Count += other.Count;
        MaxRankError += other.MaxRankError;
        for (var h = 0; h < other._levels.Count; h++)
        {
            EnsureLevel(h);
            for (var i = 0; i < other._sizes[h]; i++)
            {
                Append(h, other._levels[h][i]);
            }
        }
    }

    /// <summary>The value at quantile <paramref name="q"/> (0 ≤ q ≤ 1) within <see cref="MaxRankError"/> ranks; NaN when empty.</summary>
    public double Quantile(double q)
    {
        var results = new double[1];
        Quantiles([q], results);
        return results[0];
    }

    /// <summary>Values at several quantiles at once (one sort of the retained items).</summary>
    public void Quantiles(ReadOnlySpan<double> qs, Span<double> results)
    {
        var total = 0;
        foreach (var size in _sizes)
        {
            total += size;
        }

        var values = new double[total];
        var weights = new long[total];
        var at = 0;
        for (var h = 0; h < _levels.Count; h++)
        {
            for (var i = 0; i < _sizes[h]; i++)
            {
                values[at] = _levels[h][i];
                weights[at++] = 1L << h;
            }
        }

        Array.Sort(values, weights);
        for (var j = 0; j < qs.Length; j++)
        {
            if (qs[j] is < 0 or > 1 || double.IsNaN(qs[j]))
            {
                throw new ArgumentOutOfRangeException(nameof(qs), qs[j], "quantiles must be between 0 and 1.");
            }

            results[j] = total == 0 ? double.NaN : values[IndexOfRank(values, weights, qs[j] * Count)];
        }
    }

    private static int IndexOfRank(double[] values, long[] weights, double target)
    {
        long cumulative = 0;
        for (var i = 0; i < values.Length; i++)
        {
            cumulative += weights[i];

            // Ties are one value: stop only after the last copy, so #{x ≤ v} is what the bound speaks of.
            if (cumulative >= target && (i + 1 == values.Length || values[i + 1] != values[i]))
            {
                return i;
            }
        }

        return values.Length - 1;
    }

    private void AddToLevelZero(double value)
    {
        Count++;
        Append(0, value);
    }

    private void Append(int level, double value)
    {
        _levels[level][_sizes[level]++] = value;
        if (_sizes[level] >= Capacity)
        {
            Compact(level);
        }
    }

    private void Compact(int level)
    {
        EnsureLevel(level + 1);
        var buffer = _levels[level];
        var size = _sizes[level];
        Array.Sort(buffer, 0, size);

        // An odd item out stays behind at its weight; the rest halve. The offset alternates per level so that the
        // rounding of successive compactions cancels instead of always favouring the low end.
        var pairs = size / 2;
        var offset = _oddOffset[level] ? 1 : 0;
        _oddOffset[level] = !_oddOffset[level];
        var leftover = size % 2 == 1 ? buffer[size - 1] : double.NaN;
        _sizes[level] = 0;
        MaxRankError += 1L << level;
        for (var p = 0; p < pairs; p++)
        {
            _levels[level + 1][_sizes[level + 1]++] = buffer[(2 * p) + offset];
        }

        if (size % 2 == 1)
        {
            buffer[_sizes[level]++] = leftover;
        }

        if (_sizes[level + 1] >= Capacity)
        {
            Compact(level + 1);
        }
    }

    private void EnsureLevel(int level)
    {
        while (_levels.Count <= level)
        {
            // Twice the capacity: a level may receive a merge's items before it is compacted.
            _levels.Add(new double[2 * Capacity]);
            _sizes.Add(0);
            _oddOffset.Add(false);
        }
    }
}
