using System.Numerics;
using System.Runtime.InteropServices;
using System.Numerics.Tensors;
using Workflows.ML.Statistics;

namespace Workflows.ML.Kernels;

/// <summary>
/// The CPU kernel: blocks of <see cref="BlockLength"/> values are widened to double with <see cref="Vector{T}"/>;
/// TensorPrimitives give the NaN test, min, max and sum, a fused vector loop the deviations of the corrected
/// two-pass; the blocks merge with Chan's formula; histogram bins come from one fused vector pass. The block buffer
/// lives on the stack: nothing is allocated per call or per row.
/// </summary>
public sealed class SimdStatisticsKernel : IStatisticsKernel
{
    /// <summary>Values per block: small enough for L1/L2 and the stack, large enough to amortise the merges.</summary>
    public const int BlockLength = 2048;

    /// <summary>Histograms up to this many bins count into stack-local sub-histograms first.</summary>
    private const int MaxLocalBins = 1024;

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
            // NaN test, min and max run on the float source: half the bytes of the widened block.
            Widen(source, widened);
            total = Moments.Merge(
                total,
                TensorPrimitives.IsNaNAny(source)
                    ? BlockMoments(widened, widened)
                    : Reduce(widened, TensorPrimitives.Min(source), TensorPrimitives.Max(source), missing: 0));
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
            Widen(source, widened);
            BlockHistogram(widened, min, max, counts, TensorPrimitives.IsNaNAny(source));
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
            BlockHistogram(copy, min, max, counts, TensorPrimitives.IsNaNAny(source));
        }
    }

    /// <summary>
    /// float → double, a vector at a time. TensorPrimitives.ConvertChecked&lt;float, double&gt; runs element by
    /// element here and cost more than all the reductions together.
    /// </summary>
    private static void Widen(ReadOnlySpan<float> source, Span<double> destination)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<float>.Count;
            for (; i <= source.Length - width; i += width)
            {
                Vector.Widen(new Vector<float>(source[i..]), out var low, out var high);
                low.CopyTo(destination[i..]);
                high.CopyTo(destination[(i + Vector<double>.Count)..]);
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] = source[i];
        }
    }

    /// <summary>Moments of one block that may hold NaNs; they are squeezed into <paramref name="scratch"/> (which may alias <paramref name="source"/>).</summary>
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
        }

        if (source.IsEmpty)
        {
            return Moments.Empty with { Missing = missing };
        }

        return Reduce(source, TensorPrimitives.Min(source), TensorPrimitives.Max(source), missing);
    }

    /// <summary>Corrected two-pass over NaN-free <paramref name="source"/>.</summary>
    private static Moments Reduce(ReadOnlySpan<double> source, double min, double max, long missing)
    {
        var mean = TensorPrimitives.Sum(source) / source.Length;

        // Corrected two-pass (Chan, Golub & LeVeque): the residuals' sum c is the rounding error of the first
        // pass's mean; subtracting c²/n from M2 and adding c/n to the mean removes it, which matters for data far
        // from zero, where the block sum loses the low digits. Residual sum and sum of squares share one fused
        // vector loop: three TensorPrimitives passes (subtract, sum, sum of squares) cost twice as much here.
        double correction = 0, squares = 0;
        var i = 0;
        if (Vector.IsHardwareAccelerated && source.Length >= Vector<double>.Count)
        {
            var center = new Vector<double>(mean);
            var sum = Vector<double>.Zero;
            var sumOfSquares = Vector<double>.Zero;
            for (; i <= source.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                var deviation = new Vector<double>(source[i..]) - center;
                sum += deviation;
                sumOfSquares += deviation * deviation;
            }

            correction = Vector.Sum(sum);
            squares = Vector.Sum(sumOfSquares);
        }

        for (; i < source.Length; i++)
        {
            var deviation = source[i] - mean;
            correction += deviation;
            squares += deviation * deviation;
        }

        var m2 = squares - (correction * correction / source.Length);
        return new Moments(source.Length, missing, mean + (correction / source.Length), Math.Max(m2, 0), min, max);
    }

    /// <summary>Bin positions computed vector-wide, then counted; <paramref name="block"/> is overwritten.</summary>
    private static void BlockHistogram(Span<double> block, double min, double max, Span<long> counts, bool hasNaN)
    {
        if (hasNaN)
        {
            // Rare path: squeeze the NaNs out first; the clamp below would otherwise turn them into a bin.
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

        // One fused vector pass (subtract, scale, clamp to [0, bins - 1], truncate) writes every bin index, in
        // place over the block; the arithmetic is the scalar kernel's, operation for operation, so both pick the
        // same bin. Counting then alternates between four sub-histograms so that runs of the same bin do not wait
        // on each other's increments.
        var bins = counts.Length;
        var scale = HistogramBins.Scale(min, max, bins);
        var indices = MemoryMarshal.Cast<double, long>(block);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var lowest = new Vector<double>(min);
            var factor = new Vector<double>(scale);
            var top = new Vector<double>(bins - 1);
            for (; i <= block.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                var position = (new Vector<double>(block[i..]) - lowest) * factor;
                Vector.ConvertToInt64(Vector.Min(Vector.Max(position, Vector<double>.Zero), top)).CopyTo(indices[i..]);
            }
        }

        for (; i < block.Length; i++)
        {
            indices[i] = HistogramBins.Bin(block[i], min, scale, bins);
        }

        if (bins > MaxLocalBins)
        {
            foreach (var index in indices)
            {
                counts[(int)index]++;
            }

            return;
        }

        Span<int> local = stackalloc int[4 * bins];
        var j = 0;
        for (; j <= indices.Length - 4; j += 4)
        {
            local[(int)indices[j]]++;
            local[bins + (int)indices[j + 1]]++;
            local[(2 * bins) + (int)indices[j + 2]]++;
            local[(3 * bins) + (int)indices[j + 3]]++;
        }

        for (; j < indices.Length; j++)
        {
            local[(int)indices[j]]++;
        }

        for (var b = 0; b < bins; b++)
        {
            counts[b] += local[b] + local[bins + b] + local[(2 * bins) + b] + local[(3 * bins) + b];
        }
    }
}
