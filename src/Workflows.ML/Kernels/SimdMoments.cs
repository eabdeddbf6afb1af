using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Workflows.ML.Numerics;

namespace Workflows.ML.Kernels;

/// <summary>
/// The moments of <see cref="SimdStatisticsKernel"/>, a block of <see cref="SimdStatisticsKernel.BlockLength"/> values
/// at a time, blocks merged with Chan's formula. Float blocks: one fused vector pass for min, max and the NaN test,
/// one for the shifted sums (widened to double in registers); blocks with NaN and double data take the corrected
/// two-pass on a widened copy. Buffers live on the stack: nothing is allocated per call or per row.
/// </summary>
[SkipLocalsInit] // The stack buffers are written before they are read; zeroing them cost a pass of their own.
internal static class SimdMoments
{
    /// <summary>Moments of float32 values, a block at a time (see <see cref="SimdStatisticsKernel"/>); NaN counts as missing.</summary>
    public static Moments Compute(ReadOnlySpan<float> values)
    {
        Span<double> block = stackalloc double[SimdStatisticsKernel.BlockLength];
        var total = Moments.Empty;
        for (var start = 0; start < values.Length; start += SimdStatisticsKernel.BlockLength)
        {
            var source = values.Slice(start, Math.Min(SimdStatisticsKernel.BlockLength, values.Length - start));
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

    /// <summary>Moments of double values, a block at a time; NaN counts as missing.</summary>
    public static Moments Compute(ReadOnlySpan<double> values)
    {
        Span<double> block = stackalloc double[SimdStatisticsKernel.BlockLength];
        var total = Moments.Empty;
        for (var start = 0; start < values.Length; start += SimdStatisticsKernel.BlockLength)
        {
            var source = values.Slice(start, Math.Min(SimdStatisticsKernel.BlockLength, values.Length - start));
            total = Moments.Merge(total, BlockMoments(source, block[..source.Length]));
        }

        return total;
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryFloatBlockMoments(ReadOnlySpan<float> source, out Moments moments)
    {
        if (Avx512F.IsSupported && source.Length >= Vector512<float>.Count)
        {
            return TryFloatBlockMomentsAvx512(source, out moments);
        }

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
    /// <see cref="TryFloatBlockMoments"/> with AVX-512, the same two passes over the floats with independent
    /// accumulators, so that neither pass waits on its own additions: min and max over four vectors of 16 floats at a
    /// time (raw vminps / vmaxps; a NaN may slip through them), then the shifted sums over four vectors of 8 doubles,
    /// the squares by FMA. The NaN test is the second pass's own result: a NaN makes x − c and the sums NaN (an
    /// infinity makes them infinite or NaN), and such a block is left to the widened path, so the first pass needs no
    /// compare.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryFloatBlockMomentsAvx512(ReadOnlySpan<float> source, out Moments moments)
    {
        moments = Moments.Empty;
        var n = source.Length;
        ref var start = ref MemoryMarshal.GetReference(source);
        var low0 = Vector512.LoadUnsafe(ref start);
        var high0 = low0;
        Vector512<float> low1 = low0, low2 = low0, low3 = low0, high1 = low0, high2 = low0, high3 = low0;
        var i = 0;
        for (; i <= n - (4 * Vector512<float>.Count); i += 4 * Vector512<float>.Count)
        {
            var a = Vector512.LoadUnsafe(ref start, (nuint)i);
            var b = Vector512.LoadUnsafe(ref start, (nuint)(i + 16));
            var c = Vector512.LoadUnsafe(ref start, (nuint)(i + 32));
            var d = Vector512.LoadUnsafe(ref start, (nuint)(i + 48));
            low0 = Avx512F.Min(low0, a);
            high0 = Avx512F.Max(high0, a);
            low1 = Avx512F.Min(low1, b);
            high1 = Avx512F.Max(high1, b);
            low2 = Avx512F.Min(low2, c);
            high2 = Avx512F.Max(high2, c);
            low3 = Avx512F.Min(low3, d);
            high3 = Avx512F.Max(high3, d);
        }

        for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
        {
            var a = Vector512.LoadUnsafe(ref start, (nuint)i);
            low0 = Avx512F.Min(low0, a);
            high0 = Avx512F.Max(high0, a);
        }

        if (i < n)
        {
            // The last 16 values again, overlapping: harmless for a minimum and a maximum.
            var a = Vector512.LoadUnsafe(ref start, (nuint)(n - Vector512<float>.Count));
            low0 = Avx512F.Min(low0, a);
            high0 = Avx512F.Max(high0, a);
        }

        var lowest = Avx512F.Min(Avx512F.Min(low0, low1), Avx512F.Min(low2, low3));
        var highest = Avx512F.Max(Avx512F.Max(high0, high1), Avx512F.Max(high2, high3));
        var min = lowest.ToScalar();
        var max = highest.ToScalar();
        for (var lane = 1; lane < Vector512<float>.Count; lane++)
        {
            min = Math.Min(min, lowest.GetElement(lane));
            max = Math.Max(max, highest.GetElement(lane));
        }

        var center = ((double)min + max) / 2;
        var shift = Vector512.Create(center);
        Vector512<double> sum0 = Vector512<double>.Zero, sum1 = sum0, sum2 = sum0, sum3 = sum0;
        Vector512<double> squares0 = sum0, squares1 = sum0, squares2 = sum0, squares3 = sum0;
        i = 0;
        for (; i <= n - (4 * Vector256<float>.Count); i += 4 * Vector256<float>.Count)
        {
            var d0 = Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref start, (nuint)i)) - shift;
            var d1 = Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref start, (nuint)(i + 8))) - shift;
            var d2 = Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref start, (nuint)(i + 16))) - shift;
            var d3 = Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref start, (nuint)(i + 24))) - shift;
            sum0 += d0;
            sum1 += d1;
            sum2 += d2;
            sum3 += d3;
            squares0 = Avx512F.FusedMultiplyAdd(d0, d0, squares0);
            squares1 = Avx512F.FusedMultiplyAdd(d1, d1, squares1);
            squares2 = Avx512F.FusedMultiplyAdd(d2, d2, squares2);
            squares3 = Avx512F.FusedMultiplyAdd(d3, d3, squares3);
        }

        for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var d0 = Avx512F.ConvertToVector512Double(Vector256.LoadUnsafe(ref start, (nuint)i)) - shift;
            sum0 += d0;
            squares0 = Avx512F.FusedMultiplyAdd(d0, d0, squares0);
        }

        var correction = Vector512.Sum((sum0 + sum1) + (sum2 + sum3));
        var squares = Vector512.Sum((squares0 + squares1) + (squares2 + squares3));
        for (; i < n; i++)
        {
            var deviation = Unsafe.Add(ref start, i) - center;
            correction += deviation;
            squares += deviation * deviation;
        }

        if (!double.IsFinite(correction) || !double.IsFinite(squares))
        {
            return false;
        }

        var m2 = squares - (correction * correction / n);
        moments = new Moments(n, 0, center + (correction / n), Math.Max(m2, 0), min, max);
        return true;
    }
}
