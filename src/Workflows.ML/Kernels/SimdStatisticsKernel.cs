using System.Numerics.Tensors;
using Workflows.ML.Statistics;

namespace Workflows.ML.Kernels;

/// <summary>
/// The CPU kernel: blocks of <see cref="BlockLength"/> values go through System.Numerics.Tensors primitives
/// (widening, sum, min, max, subtract, sum of squares), a corrected two-pass per block around the block mean, and the blocks
/// merge with Chan's formula. The block buffer lives on the stack: nothing is allocated per call or per row.
/// </summary>
public sealed class SimdStatisticsKernel : IStatisticsKernel
{
    /// <summary>Values per block: small enough for L1/L2 and the stack, large enough to amortise the merges.</summary>
    public const int BlockLength = 2048;

    /// <summary>The shared instance; the kernel holds no state.</summary>
    public static SimdStatisticsKernel Instance { get; } = new();

    /// <inheritdoc/>
    public string Name => "simd";

    /// <inheritdoc/>
    public Moments ComputeMoments(ReadOnlySpan<float> values)
    {
        Span<double> block = stackalloc double[BlockLength];
        var total = Moments.Empty;
        for (var start = 0; start < values.Length; start += BlockLength)
        {
            var source = values.Slice(start, Math.Min(BlockLength, values.Length - start));
            var widened = block[..source.Length];

            // Double accumulation: a float sum over thousands of values would lose the digits the variance needs.
            TensorPrimitives.ConvertChecked(source, widened);
            total = Moments.Merge(total, BlockMoments(widened, widened));
        }

        return total;
    }

    /// <inheritdoc/>
    public Moments ComputeMoments(ReadOnlySpan<double> values)
    {
        Span<double> block = stackalloc double[BlockLength];
        var total = Moments.Empty;
        for (var start = 0; start < values.Length; start += BlockLength)
        {
            var source = values.Slice(start, Math.Min(BlockLength, values.Length - start));
            total = Moments.Merge(total, BlockMoments(source, block[..source.Length]));
        }

        return total;
    }

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<long> counts)
    {
        Span<double> block = stackalloc double[BlockLength];
        for (var start = 0; start < values.Length; start += BlockLength)
        {
            var source = values.Slice(start, Math.Min(BlockLength, values.Length - start));
            var widened = block[..source.Length];
            TensorPrimitives.ConvertChecked(source, widened);
            BlockHistogram(widened, min, max, counts);
        }
    }

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<long> counts)
    {
        Span<double> block = stackalloc double[BlockLength];
        for (var start = 0; start < values.Length; start += BlockLength)
        {
            var source = values.Slice(start, Math.Min(BlockLength, values.Length - start));
            var copy = block[..source.Length];
            source.CopyTo(copy);
            BlockHistogram(copy, min, max, counts);
        }
    }

    /// <summary>Moments of one block; <paramref name="scratch"/> (which may alias <paramref name="source"/>) is overwritten.</summary>
    private static Moments BlockMoments(ReadOnlySpan<double> source, Span<double> scratch)
    {
        long missing = 0;
        if (TensorPrimitives.IsNaNAny(source))
        {
            // Rare path: squeeze the NaNs out so the vector primitives see only values.
            var kept = 0;
            for (var i = 0; i < source.Length; i++)
            {
                var value = source[i];
                if (!double.IsNaN(value))
                {
                    scratch[kept++] = value;
                }
            }

            missing = source.Length - kept;
            source = scratch[..kept];
            scratch = scratch[..kept];
        }

        if (source.IsEmpty)
        {
            return Moments.Empty with { Missing = missing };
        }

        var mean = TensorPrimitives.Sum(source) / source.Length;
        var min = TensorPrimitives.Min(source);
        var max = TensorPrimitives.Max(source);
        TensorPrimitives.Subtract(source, mean, scratch);

        // Corrected two-pass (Chan, Golub & LeVeque): the residuals' sum c is the rounding error of the first
        // pass's mean; subtracting c²/n from M2 and adding c/n to the mean removes it, which matters for data far
        // from zero, where the block sum loses the low digits.
        var correction = TensorPrimitives.Sum((ReadOnlySpan<double>)scratch);
        var m2 = TensorPrimitives.SumOfSquares((ReadOnlySpan<double>)scratch) - (correction * correction / source.Length);
        return new Moments(source.Length, missing, mean + (correction / source.Length), Math.Max(m2, 0), min, max);
    }

    /// <summary>Bin positions computed vector-wide, then counted; <paramref name="block"/> is overwritten.</summary>
    private static void BlockHistogram(Span<double> block, double min, double max, Span<long> counts)
    {
        if (TensorPrimitives.IsNaNAny((ReadOnlySpan<double>)block))
        {
            // Rare path: squeeze the NaNs out first; MaxNumber below would otherwise turn them into bin 0.
            var kept = 0;
            foreach (var value in block)
            {
                if (!double.IsNaN(value))
                {
                    block[kept++] = value;
                }
            }

            block = block[..kept];
        }

        var bins = counts.Length;
        var scale = HistogramBins.Scale(min, max, bins);
        TensorPrimitives.Subtract(block, min, block);
        TensorPrimitives.Multiply(block, scale, block);

        // Clamping to [0, bins - 1] vector-wide leaves one truncation and one increment per value in the loop;
        // the arithmetic is the scalar kernel's, operation for operation, so both pick the same bin.
        TensorPrimitives.MaxNumber(block, 0.0, block);
        TensorPrimitives.MinNumber(block, bins - 1, block);
        foreach (var position in block)
        {
            counts[(int)position]++;
        }
    }
}
