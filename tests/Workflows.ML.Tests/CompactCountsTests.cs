using System.Text.Json;
using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;
using Xunit;

namespace Workflows.ML.Tests;

/// <summary>
/// Compact histogram counts: what a counter's partial holds until a merge adds it, read back exactly, including the
/// counts at the edges of the one- and two-byte fast paths; merges from compact counts equal merges of rows.
/// </summary>
public sealed class CompactCountsTests
{
    /// <summary>Zigzag 127/128 (one byte or two) and 16,383/16,384 (two or three), both signs, and the extremes.</summary>
    private static readonly long[] Edges = [0, 1, -1, 63, 64, -64, -65, 8191, 8192, -8192, -8193, 1L << 40, long.MaxValue, long.MinValue];

    [Fact]
    public void EncodeFromAFlatBuffer_IsTheSameBytesAsFromRows_AndReadsBackExactly()
    {
        long[][] rows = [Edges, [], [5, 0, 200, 7], [8192]];
        var flat = rows.SelectMany(r => r).Concat([99L, 99L]).ToArray(); // a pooled buffer is longer than its rows

        var fromRows = CompactCounts.Encode(rows);
        var fromFlat = CompactCounts.Encode(flat, [.. rows.Select(r => r.Length)]);

        Assert.Equal(fromRows.Bytes.ToArray(), fromFlat.Bytes.ToArray());
        Assert.Equal(rows, fromFlat.Expand());
        Assert.Equal(rows, CompactCounts.Parse(fromFlat.Bytes.ToArray()).Expand());
        Assert.Equal([14, 0, 4, 1], Enumerable.Range(0, 4).Select(fromFlat.RowLength));
    }

    [Fact]
    public void Bytes_AreTheShortestVarints_AsOlderWorkersWroteThem()
    {
        // Version 1, one row of four: zigzag 127 (one byte), 128 (two), 16,383 (two), 16,384 (three).
        byte[] expected = [1, 1, 4, 0x7F, 0x80, 0x01, 0xFF, 0x7F, 0x80, 0x80, 0x01];

        Assert.Equal(expected, CompactCounts.Encode([[-64, 64, -8192, 8192]]).Bytes.ToArray());
    }

    [Fact]
    public void EveryCountAtTheEndOfTheBytes_ReadsBackExactly()
    {
        // The reader's two-byte fast path must not read past the last byte, whatever the last count's length.
        foreach (var last in Edges)
        {
            long[][] rows = [[3, last]];
            Assert.Equal(rows, CompactCounts.Parse(CompactCounts.Encode(rows).Bytes.ToArray()).Expand());
        }
    }

    [Fact]
    public void RandomRows_AddedFromCompact_EqualTheSumOfTheRows()
    {
        var random = new Random(11);
        for (var trial = 0; trial < 40; trial++)
        {
            var length = random.Next(0, 400);
            var row = new long[length];
            var target = new long[length];
            for (var b = 0; b < length; b++)
            {
                row[b] = random.Next(5) switch { 0 => 0, 1 => random.Next(128), 2 => random.Next(20_000) - 10_000, 3 => Edges[random.Next(Edges.Length)], _ => random.NextInt64(-(1L << 50), 1L << 50) };
                target[b] = random.Next(1000);
            }

            var expected = target.Zip(row, (t, r) => t + r).ToArray();
            CompactCounts.Encode([[], row]).AddRowTo(1, target);
            Assert.Equal(expected, target);
        }
    }

    [Fact]
    public void RunsOfSmallCountsBetweenLargeOnes_EncodeAndAddAsCountByCount()
    {
        // The eight-at-a-time paths (a counter's int32 rows written, one-byte counts added) against the one-count
        // paths (int64 rows), with long counts at every offset within a run of eight and at the ends of the rows.
        var random = new Random(5);
        for (var trial = 0; trial < 60; trial++)
        {
            var lengths = new int[random.Next(1, 4)];
            var rows = new long[lengths.Length][];
            for (var r = 0; r < rows.Length; r++)
            {
                lengths[r] = random.Next(0, 90);
                rows[r] = new long[lengths[r]];
                for (var b = 0; b < lengths[r]; b++)
                {
                    rows[r][b] = random.Next(10) switch { 0 => random.Next(64, 100_000), 1 => -random.Next(1, 65), 2 => random.Next(64, 128), _ => random.Next(64) };
                }
            }

            var ints = rows.SelectMany(r => r.Select(c => (int)c)).ToArray();
            var fromInts = CompactCounts.Encode<int>(ints, lengths);
            Assert.Equal(CompactCounts.Encode(rows).Bytes.ToArray(), fromInts.Bytes.ToArray());
            for (var r = 0; r < rows.Length; r++)
            {
                var target = Enumerable.Range(0, lengths[r]).Select(b => (long)b * 3).ToArray();
                fromInts.AddRowTo(r, target);
                Assert.Equal(rows[r].Select((c, b) => c + (b * 3)), target);
            }
        }
    }

    [Fact]
    public void BadArguments_ClearErrors()
    {
        var counts = CompactCounts.Encode([[1, 2, 3]]);
        Assert.Throws<ArgumentException>(() => counts.AddRowTo(0, new long[2]));
        Assert.Throws<ArgumentException>(() => CompactCounts.Encode(new long[3], [2, 2]));
        Assert.Throws<ArgumentException>(() => CompactCounts.Encode(new long[3], [-1]));
        Assert.Throws<ArgumentException>(() => CompactCounts.Encode([[1], null!]));
        Assert.Throws<InvalidOperationException>(() => new HistogramPartial { Min = [0], Max = [1] }.Counts);
    }

    [Fact]
    public void CounterPartial_StaysCompactThroughJson_AndMergesAsItsRowsWould()
    {
        ColumnRange?[] ranges = [new ColumnRange(-3, 3), null, new ColumnRange(-3, 3)];
        var partials = Enumerable.Range(0, 3).Select(seed => Counted(ranges, seed)).ToArray();
        Assert.All(partials, p => Assert.True(p.IsCompact));

        var json = JsonSerializer.Serialize(partials[1], JsonSerializerOptions.Web);
        Assert.True(partials[1].IsCompact, "serializing must not expand the counts");
        var read = JsonSerializer.Deserialize<HistogramPartial>(json, JsonSerializerOptions.Web)!;
        Assert.True(read.IsCompact);
        Assert.Equal(5, read.Bins);
        Assert.False(read.IsCounted(1));
        Assert.True(read.IsCounted(2));
        Assert.True(read.IsCompact, "Bins and IsCounted must not expand the counts");

        // The same sums as merging expanded rows; the first partial becomes dense as the fold's total.
        var expected = partials.Select(p => p.Counts.Select(r => (long[])r.Clone()).ToArray()).ToArray();
        var total = Counted(ranges, 0);
        total.Merge(read);
        total.Merge(Counted(ranges, 2));
        Assert.False(total.IsCompact);
        for (var c = 0; c < ranges.Length; c++)
        {
            Assert.Equal(expected[0][c].Zip(expected[1][c], (a, b) => a + b).Zip(expected[2][c], (a, b) => a + b), total.Counts[c]);
        }

        Assert.Equal(3 * 4, total.Chunks);
    }

    [Fact]
    public void MergeThatCannotHappen_LeavesTheTotalAsItWas()
    {
        ColumnRange?[] ranges = [new ColumnRange(-3, 3), new ColumnRange(-3, 3)];
        var total = Counted(ranges, 0);
        var before = total.Counts.Select(r => (long[])r.Clone()).ToArray();

        // Only the second column's range differs: the first column must not have been added either.
        var other = Counted([new ColumnRange(-3, 3), new ColumnRange(-2, 2)], 1);
        Assert.Throws<ArgumentException>(() => total.Merge(other));

        Assert.Equal(before, total.Counts);
        Assert.Equal(4, total.Chunks);
    }

    /// <summary>A counter's partial of four chunks of normal-ish values over <paramref name="ranges"/>, 5 bins of 4.</summary>
    private static HistogramPartial Counted(ColumnRange?[] ranges, int seed)
    {
        var random = new Random(seed);
        using var counter = new HistogramCounter(ranges, bins: 5, subdivisions: 4);
        for (var chunk = 0; chunk < 4; chunk++)
        {
            var columns = new ChunkColumn[ranges.Length];
            for (var c = 0; c < columns.Length; c++)
            {
                var values = new float[500];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = (float)(random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 2;
                }

                columns[c] = new ChunkColumn($"c{c}", values);
            }

            ChunkAccumulator.Add(counter, new DecodedChunk(chunk, 500, columns, null), SimdStatisticsKernel.Instance);
        }

        return counter.ToPartial();
    }
}
