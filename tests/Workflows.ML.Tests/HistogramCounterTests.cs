using System.Text.Json;
using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Statistics;
using Xunit;

namespace Workflows.ML.Tests;

/// <summary>The pooled counter the passes count histograms with: the same partial as counting into one directly.</summary>
public sealed class HistogramCounterTests
{
    private static readonly ColumnRange?[] Ranges = [new ColumnRange(-3, 3), null, new ColumnRange(0, 1)];

    [Fact]
    public void ToPartial_IsThePartialCountedDirectly_UncountedColumnsAndDoublesIncluded()
    {
        var chunks = new[] { Chunk(0, 1), Chunk(1, 2), Chunk(2, 3) };
        var direct = HistogramPartial.Create(Ranges, bins: 5, subdivisions: 4);
        using var counter = new HistogramCounter(Ranges, bins: 5, subdivisions: 4);
        foreach (var chunk in chunks)
        {
            direct.Add(chunk, SimdStatisticsKernel.Instance);
            ChunkAccumulator.Add(counter, chunk, SimdStatisticsKernel.Instance);
        }

        var partial = counter.ToPartial();
        Assert.Equal(JsonSerializer.Serialize(direct), JsonSerializer.Serialize(partial));
        Assert.Equal(3, partial.Chunks);
        Assert.Equal(20, partial.Counts[0].Length);
        Assert.Empty(partial.Counts[1]);
        Assert.Equal(chunks.Sum(c => c.RowCount), partial.Counts[2].Sum());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(999)]
    [InlineData(2_500)]
    public void IntRowsSpilledBeforeTheyCouldOverflow_GiveTheSameCounts(long spillAfter)
    {
        // The real bound is int.MaxValue values per row; a small one makes the spill happen here, after one value,
        // inside a chunk's worth and across chunks.
        var chunks = new[] { Chunk(0, 1), Chunk(1, 2), Chunk(2, 3) };
        var direct = HistogramPartial.Create(Ranges, bins: 5, subdivisions: 4);
        using var counter = new HistogramCounter(Ranges, bins: 5, subdivisions: 4, spillAfter);
        foreach (var chunk in chunks)
        {
            direct.Add(chunk, SimdStatisticsKernel.Instance);
            ChunkAccumulator.Add(counter, chunk, SimdStatisticsKernel.Instance);
        }

        var partial = counter.ToPartial();
        Assert.Equal(direct.Counts, partial.Counts);
        Assert.Equal(3, partial.Chunks);
        Assert.Throws<ArgumentOutOfRangeException>(() => new HistogramCounter(Ranges, bins: 5, subdivisions: 4, spillAfter: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HistogramCounter(Ranges, bins: 5, subdivisions: 4, spillAfter: int.MaxValue + 1L));
    }

    [Fact]
    public void NewCounter_StartsAtZero_EvenWhenThePoolHandsBackADirtyBuffer()
    {
        using (var first = new HistogramCounter(Ranges, bins: 5, subdivisions: 4))
        {
            ChunkAccumulator.Add(first, Chunk(0, 7), SimdStatisticsKernel.Instance);
        }

        using var second = new HistogramCounter(Ranges, bins: 5, subdivisions: 4);
        var partial = second.ToPartial();
        Assert.All(partial.Counts, row => Assert.All(row, count => Assert.Equal(0, count)));
        Assert.Equal(0, partial.Chunks);
    }

    [Fact]
    public void BadUse_ClearErrors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HistogramCounter(Ranges, bins: 0, subdivisions: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HistogramCounter(Ranges, bins: 4, subdivisions: 3));
        var counter = new HistogramCounter(Ranges, bins: 5, subdivisions: 4);
        Assert.Throws<ArgumentException>(() => counter.CompleteChunk(new DecodedChunk(0, 1, [new ChunkColumn("a", [1f])], null)));
        counter.Dispose();
        counter.Dispose();
        Assert.Throws<ObjectDisposedException>(() => counter.ToPartial());
        Assert.Throws<ObjectDisposedException>(() => counter.AddColumn(0, new ChunkColumn("a", [1f]), SimdStatisticsKernel.Instance));
    }

    /// <summary>Three columns: a float normal-ish one inside [−3, 3] (and beyond, clamped), one never counted, and doubles in [0, 1].</summary>
    private static DecodedChunk Chunk(int index, int seed)
    {
        var random = new Random(seed);
        var rows = 1000 + (index * 37);
        var a = new float[rows];
        var b = new float[rows];
        var c = new double[rows];
        for (var i = 0; i < rows; i++)
        {
            a[i] = (float)((random.NextDouble() * 7) - 3.5);
            b[i] = random.NextSingle();
            c[i] = random.NextDouble();
        }

        return new DecodedChunk(index, rows, [new ChunkColumn("a", a), new ChunkColumn("b", b), new ChunkColumn("c", ColumnType.Float64, c)], null);
    }
}
