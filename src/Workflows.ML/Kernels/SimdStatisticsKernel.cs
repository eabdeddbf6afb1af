using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Workflows.ML.Statistics;

namespace Workflows.ML.Kernels;

/// <summary>
/// The CPU kernel, a block of <see cref="BlockLength"/> values at a time, blocks merged with Chan's formula. Float
/// moments: one fused vector pass for min, max and the NaN test, one for the shifted sums (widened to double in
/// registers); blocks with NaN and double data take the corrected two-pass on a widened copy. Histograms: one fused
/// vector pass writes the bin indices, then a counting loop. Buffers live on the stack: nothing is allocated per call
/// or per row.
/// </summary>
[SkipLocalsInit] // The stack buffers are written before they are read; zeroing them cost a pass of their own.
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
            if (TryFloatBlockMoments(source, out var moments))
            {
                total = Moments.Merge(total, moments);
                continue;
            }

            // A block with NaN (or too short for a vector): widen it and squeeze the NaNs out first.
            var widened = block[..source.Length];
            Widen(source, widened);
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
        Span<int> indices = stackalloc int[BlockLength];
        Span<double> block = stackalloc double[BlockLength];
        var scale = HistogramBins.Scale(min, max, counts.Length);
        for (var start = 0; start < values.Length; start += BlockLength)
        {
            var source = values.Slice(start, Math.Min(BlockLength, values.Length - start));
            if (BinIndices(source, min, scale, counts.Length, indices))
            {
                Count(indices[..source.Length], counts);
                continue;
            }

            // Rare path: widen and squeeze the NaNs out; the clamp gave them a bin.
            var kept = 0;
            foreach (var value in source)
            {
                if (!float.IsNaN(value))
                {
                    block[kept++] = value;
                }
            }

            BinIndices(block[..kept], min, scale, counts.Length, indices);
            Count(indices[..kept], counts);
        }
    }

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<long> counts)
    {
        Span<int> indices = stackalloc int[BlockLength];
        Span<double> block = stackalloc double[BlockLength];
        var scale = HistogramBins.Scale(min, max, counts.Length);
        for (var start = 0; start < values.Length; start += BlockLength)
        {
            var source = values.Slice(start, Math.Min(BlockLength, values.Length - start));
            if (TensorPrimitives.IsNaNAny(source))
            {
                var kept = 0;
                foreach (var value in source)
                {
                    if (!double.IsNaN(value))
                    {
                        block[kept++] = value;
                    }
                }

                BinIndices(block[..kept], min, scale, counts.Length, indices);
                Count(indices[..kept], counts);
                continue;
            }

            BinIndices(source, min, scale, counts.Length, indices);
            Count(indices[..source.Length], counts);
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

    /// <summary>
    /// Moments of a NaN-free float block in two fused passes over the floats, nothing stored: min, max and the NaN
    /// test in one, then sums of x − c and (x − c)² around the block's midrange c (widened to double in registers).
    /// False when the block holds a NaN or is shorter than a vector.
    /// </summary>
    /// <remarks>
    /// The shifted sums are the corrected two-pass formula with c for the mean: M2 = Σ(x − c)² − (Σ(x − c))²/n.
    /// Its cancellation grows with (mean − c)²/variance, which for the midrange is at most n/2 (two extremes already
    /// give the variance (max − min)²/(2n)); a float minus c and its square are exact in double, so only the sums
    /// round, and the block result stays within about 1e-12 relative of the two-pass one.
    /// </remarks>
    private static bool TryFloatBlockMoments(ReadOnlySpan<float> source, out Moments moments)
    {
        moments = Moments.Empty;
        var width = Vector<float>.Count;
        if (!Vector.IsHardwareAccelerated || source.Length < width)
        {
            return false;
        }

        var lowest = new Vector<float>(source);
        var highest = lowest;
        var notNaN = Vector.Equals(lowest, lowest);
        var i = width;
        for (; i <= source.Length - width; i += width)
        {
            var v = new Vector<float>(source[i..]);
            lowest = Vector.Min(lowest, v);
            highest = Vector.Max(highest, v);
            notNaN &= Vector.Equals(v, v);
        }

        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        for (; i < source.Length; i++)
        {
            var value = source[i];
            if (float.IsNaN(value))
            {
                return false;
            }

            min = Math.Min(min, value);
            max = Math.Max(max, value);
        }

        if (!Vector.EqualsAll(notNaN, new Vector<int>(-1)))
        {
            return false;
        }

        for (var lane = 0; lane < width; lane++)
        {
            min = Math.Min(min, lowest[lane]);
            max = Math.Max(max, highest[lane]);
        }

        var center = ((double)min + max) / 2;
        double correction, squares;
        i = 0;
        if (Avx512F.IsSupported)
        {
            // Eight floats to eight doubles in one instruction; Vector.Widen's two halves cost half as much again.
            var c = Vector512.Create(center);
            Vector512<double> sum = Vector512<double>.Zero, sumOfSquares = Vector512<double>.Zero;
            for (; i <= source.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var deviation = Avx512F.ConvertToVector512Double(Vector256.Create(source[i..])) - c;
                sum += deviation;
                sumOfSquares += deviation * deviation;
            }

            correction = Vector512.Sum(sum);
            squares = Vector512.Sum(sumOfSquares);
        }
        else
        {
            var c = new Vector<double>(center);
            Vector<double> sum1 = Vector<double>.Zero, sum2 = Vector<double>.Zero, squares1 = Vector<double>.Zero, squares2 = Vector<double>.Zero;
            for (; i <= source.Length - width; i += width)
            {
                Vector.Widen(new Vector<float>(source[i..]), out var low, out var high);
                var d1 = low - c;
                var d2 = high - c;
                sum1 += d1;
                sum2 += d2;
                squares1 += d1 * d1;
                squares2 += d2 * d2;
            }

            correction = Vector.Sum(sum1 + sum2);
            squares = Vector.Sum(squares1 + squares2);
        }

        for (; i < source.Length; i++)
        {
            var deviation = source[i] - center;
            correction += deviation;
            squares += deviation * deviation;
        }

        var n = source.Length;
        var m2 = squares - (correction * correction / n);
        moments = new Moments(n, 0, center + (correction / n), Math.Max(m2, 0), min, max);
        return true;
    }

    /// <summary>
    /// Bin index of each value, one fused vector pass (widen, subtract, scale, clamp to [0, bins − 1], truncate to
    /// int; AVX-512 or AVX when there, else <see cref="Vector{T}"/>); the arithmetic is the scalar kernel's, operation
    /// for operation, so all pick the same bin. False when a value is NaN: its index is then meaningless.
    /// </summary>
    private static bool BinIndices(ReadOnlySpan<float> values, double min, double scale, int bins, Span<int> indices)
    {
        // The NaN test rides along (x == x), so a clean block is read once.
        var i = 0;
        var numbers = true;
        if (Avx512F.IsSupported)
        {
            var lowest = Vector512.Create(min);
            var factor = Vector512.Create(scale);
            var top = Vector512.Create((double)(bins - 1));
            var ordered = Vector256<float>.AllBitsSet;
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var value = Vector256.Create(values[i..]);
                ordered &= Vector256.Equals(value, value);
                BinVector(Avx512F.ConvertToVector512Double(value), lowest, factor, top).CopyTo(indices[i..]);
            }

            numbers = ordered.AsInt32() == Vector256<int>.AllBitsSet;
        }
        else if (Avx.IsSupported)
        {
            var lowest = Vector256.Create(min);
            var factor = Vector256.Create(scale);
            var top = Vector256.Create((double)(bins - 1));
            var ordered = Vector128<float>.AllBitsSet;
            for (; i <= values.Length - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                var value = Vector128.Create(values[i..]);
                ordered &= Vector128.Equals(value, value);
                BinVector(Avx.ConvertToVector256Double(value), lowest, factor, top).CopyTo(indices[i..]);
            }

            numbers = ordered.AsInt32() == Vector128<int>.AllBitsSet;
        }
        else if (Vector.IsHardwareAccelerated)
        {
            var lowest = new Vector<double>(min);
            var factor = new Vector<double>(scale);
            var top = new Vector<double>(bins - 1);
            var ordered = new Vector<int>(-1);
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var value = new Vector<float>(values[i..]);
                ordered &= Vector.Equals(value, value);
                Vector.Widen(value, out var low, out var high);
                Vector.Narrow(BinVector(low, lowest, factor, top), BinVector(high, lowest, factor, top)).CopyTo(indices[i..]);
            }

            numbers = ordered == new Vector<int>(-1);
        }

        for (; i < values.Length; i++)
        {
            numbers &= !float.IsNaN(values[i]);
            indices[i] = HistogramBins.Bin(values[i], min, scale, bins);
        }

        return numbers;
    }

    /// <summary>The bin index of each NaN-free double (see the float overload).</summary>
    private static void BinIndices(ReadOnlySpan<double> values, double min, double scale, int bins, Span<int> indices)
    {
        var i = 0;
        if (Avx512F.IsSupported)
        {
            var lowest = Vector512.Create(min);
            var factor = Vector512.Create(scale);
            var top = Vector512.Create((double)(bins - 1));
            for (; i <= values.Length - Vector512<double>.Count; i += Vector512<double>.Count)
            {
                BinVector(Vector512.Create(values[i..]), lowest, factor, top).CopyTo(indices[i..]);
            }
        }
        else if (Avx.IsSupported)
        {
            var lowest = Vector256.Create(min);
            var factor = Vector256.Create(scale);
            var top = Vector256.Create((double)(bins - 1));
            for (; i <= values.Length - Vector256<double>.Count; i += Vector256<double>.Count)
            {
                BinVector(Vector256.Create(values[i..]), lowest, factor, top).CopyTo(indices[i..]);
            }
        }
        else if (Vector.IsHardwareAccelerated)
        {
            var lowest = new Vector<double>(min);
            var factor = new Vector<double>(scale);
            var top = new Vector<double>(bins - 1);
            var width = Vector<double>.Count;
            for (; i <= values.Length - (2 * width); i += 2 * width)
            {
                Vector.Narrow(
                    BinVector(new Vector<double>(values[i..]), lowest, factor, top),
                    BinVector(new Vector<double>(values[(i + width)..]), lowest, factor, top)).CopyTo(indices[i..]);
            }
        }

        for (; i < values.Length; i++)
        {
            indices[i] = HistogramBins.Bin(values[i], min, scale, bins);
        }
    }

    private static Vector<long> BinVector(Vector<double> values, Vector<double> lowest, Vector<double> factor, Vector<double> top) =>
        Vector.ConvertToInt64(Vector.Min(Vector.Max((values - lowest) * factor, Vector<double>.Zero), top));

    /// <summary>Bins of eight doubles: vcvttpd2dq straight to int (Vector.ConvertToInt64, saturating, and Narrow cost three times as much).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BinVector(Vector512<double> values, Vector512<double> lowest, Vector512<double> factor, Vector512<double> top) =>
        Avx512F.ConvertToVector256Int32WithTruncation(Avx512F.Min(Avx512F.Max((values - lowest) * factor, Vector512<double>.Zero), top));

    /// <summary>Bins of four doubles with AVX.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> BinVector(Vector256<double> values, Vector256<double> lowest, Vector256<double> factor, Vector256<double> top) =>
        Avx.ConvertToVector128Int32WithTruncation(Avx.Min(Avx.Max((values - lowest) * factor, Vector256<double>.Zero), top));

    /// <summary>
    /// Adds the bin indices to <paramref name="counts"/>. Few bins: four stack-local sub-histograms in turn, so runs
    /// of the same bin do not wait on each other's increments; many (the fine bins of the quantiles): directly.
    /// </summary>
    private static void Count(ReadOnlySpan<int> indices, Span<long> counts)
    {
        var bins = counts.Length;
        if (bins > MaxLocalBins)
        {
            foreach (var index in indices)
            {
                counts[index]++;
            }

            return;
        }

        Span<int> local = stackalloc int[4 * bins];
        local.Clear();
        var j = 0;
        for (; j <= indices.Length - 4; j += 4)
        {
            local[indices[j]]++;
            local[bins + indices[j + 1]]++;
            local[(2 * bins) + indices[j + 2]]++;
            local[(3 * bins) + indices[j + 3]]++;
        }

        for (; j < indices.Length; j++)
        {
            local[indices[j]]++;
        }

        for (var b = 0; b < bins; b++)
        {
            counts[b] += local[b] + local[bins + b] + local[(2 * bins) + b] + local[(3 * bins) + b];
        }
    }
}
