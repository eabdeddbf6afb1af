using System.Numerics;
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

    private double[][] _levels = [];
    private int[] _sizes = [];
    private bool[] _oddOffset = [];
    private double[] _scratch = [];
    private int _height;

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

            // Levels above 0 are kept sorted; do not trust that of a payload.
            Array.Sort(_levels[h], 0, _sizes[h]);
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
            var levels = new double[_height][];
            for (var h = 0; h < levels.Length; h++)
            {
                levels[h] = _levels[h].AsSpan(0, _sizes[h]).ToArray();
            }

            return levels;
        }
    }

    /// <summary>Adds every non-NaN value.</summary>
    public void Add(ReadOnlySpan<float> values) => AddValues(values);

    /// <summary>Adds every non-NaN value.</summary>
    public void Add(ReadOnlySpan<double> values) => AddValues(values);

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
        if (other._height == 0)
        {
            return;
        }

        EnsureLevel(0);
        var level0 = other._levels[0].AsSpan(0, other._sizes[0]);
        while (!level0.IsEmpty)
        {
            var take = Math.Min(Capacity - _sizes[0], level0.Length);
            level0[..take].CopyTo(_levels[0].AsSpan(_sizes[0]));
            _sizes[0] += take;
            if (_sizes[0] >= Capacity)
            {
                Compact(0);
            }

            level0 = level0[take..];
        }

        for (var h = 1; h < other._height; h++)
        {
            EnsureLevel(h);
            AppendSorted(h, other._levels[h].AsSpan(0, other._sizes[h]));
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
        for (var h = 0; h < _height; h++)
        {
            total += _sizes[h];
        }

        var values = new double[total];
        var weights = new long[total];
        var at = 0;
        for (var h = 0; h < _height; h++)
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

    /// <summary>
    /// The estimated number of values below <paramref name="value"/> (NaN counts as above everything): the weight of
    /// the retained items smaller than it. It is within <see cref="MaxRankError"/> of the true count (each compaction
    /// moves the weight below any value by at most its level's weight), so a proportion between two values read this
    /// way is within 2·E/n of the true one.
    /// </summary>
    public long CountBelow(double value)
    {
        long below = 0;
        for (var h = 0; h < _height; h++)
        {
            foreach (var item in _levels[h].AsSpan(0, _sizes[h]))
            {
                below += item < value ? 1L << h : 0;
            }
        }

        return below;
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

    private void AddValues<T>(ReadOnlySpan<T> values)
        where T : struct, IFloatingPointIeee754<T>
    {
        EnsureLevel(0);
        while (!values.IsEmpty)
        {
            var take = Math.Min(Capacity - _sizes[0], values.Length);
            var target = _levels[0].AsSpan(_sizes[0], take);
            var kept = 0;
            foreach (var value in values[..take])
            {
                // Branch-free NaN skip: write always, advance only for a number.
                target[kept] = double.CreateTruncating(value);
                kept += T.IsNaN(value) ? 0 : 1;
            }

            Absorb(kept);
            values = values[take..];
        }
    }

    private void Absorb(int added)
    {
        _sizes[0] += added;
        Count += added;
        if (_sizes[0] >= Capacity)
        {
            Compact(0);
        }
    }

    /// <summary>
    /// Halves a full level into the next. Level 0 is sorted first; higher levels are always sorted (they only ever
    /// receive sorted runs, merged in linear time), which is what keeps the sketch cheap per value.
    /// </summary>
    private void Compact(int level)
    {
        EnsureLevel(level + 1);
        var buffer = _levels[level];
        var size = _sizes[level];
        if (level == 0)
        {
            RadixSort.Sort(buffer.AsSpan(0, size));
        }

        // An odd item out (the largest) stays behind at its weight; the rest halve. The offset alternates per level
        // so that the rounding of successive compactions cancels instead of always favouring the low end.
        var pairs = size / 2;
        var offset = _oddOffset[level] ? 1 : 0;
        _oddOffset[level] = !_oddOffset[level];
        MaxRankError += 1L << level;
        for (var p = 0; p < pairs; p++)
        {
            buffer[p] = buffer[(2 * p) + offset];
        }

        var leftover = buffer[size - 1];
        AppendSorted(level + 1, buffer.AsSpan(0, pairs));
        _sizes[level] = 0;
        if (size % 2 == 1)
        {
            buffer[_sizes[level]++] = leftover;
        }
    }

    /// <summary>Merges a sorted run into sorted level <paramref name="level"/> (≥ 1), compacting it when full.</summary>
    private void AppendSorted(int level, ReadOnlySpan<double> run)
    {
        var existing = _levels[level].AsSpan(0, _sizes[level]);
        var merged = _scratch.AsSpan(0, existing.Length + run.Length);
        int a = 0, b = 0, m = 0;
        while (a < existing.Length && b < run.Length)
        {
            merged[m++] = existing[a] <= run[b] ? existing[a++] : run[b++];
        }

        existing[a..].CopyTo(merged[m..]);
        m += existing.Length - a;
        run[b..].CopyTo(merged[m..]);
        (_levels[level], _scratch) = (_scratch, _levels[level]);
        _sizes[level] = merged.Length;
        if (_sizes[level] >= Capacity)
        {
            Compact(level);
        }
    }

    private void EnsureLevel(int level)
    {
        if (_scratch.Length == 0)
        {
            _scratch = new double[2 * Capacity];
        }

        if (level < _height)
        {
            return;
        }

        if (level >= _levels.Length)
        {
            var grown = Math.Max(4, 2 * (level + 1));
            Array.Resize(ref _levels, grown);
            Array.Resize(ref _sizes, grown);
            Array.Resize(ref _oddOffset, grown);
        }

        for (var h = _height; h <= level; h++)
        {
            // Twice the capacity: a level may receive a merge's run before it is compacted.
            _levels[h] = new double[2 * Capacity];
        }

        _height = level + 1;
    }
}
