using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Workflows.ML.Numerics;

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

    /// <summary>How far ahead (in floats, 2 KB) the bin-index loop asks for values.</summary>
    private const int PrefetchDistance = 512;

    /// <summary>Histograms up to this many bins count into stack-local sub-histograms first.</summary>
    private const int MaxLocalBins = 1024;

    /// <summary>This thread's int32 row of fine-bin counts for the int64 overloads of AddToHistogram; all zero between calls.</summary>
    [ThreadStatic]
    private static int[]? t_fineCounts;

    /// <summary>The shared instance; the kernel holds no state between calls.</summary>
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
    public void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<long> counts) => AddToWide(values, min, max, counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<int> counts) => AddFloats(values, min, max, counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<long> counts) => AddToWide(values, min, max, counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<int> counts) => AddDoubles(values, min, max, counts);

    /// <summary>
    /// Into int64 counts. Many bins (the quantiles' fine bins): into this thread's int32 row, added to the counts once
    /// per call (half the bytes while counting). Few: straight in, through the stack-local sub-histograms.
    /// </summary>
    private static void AddToWide<TValue>(ReadOnlySpan<TValue> values, double min, double max, Span<long> counts)
        where TValue : struct
    {
        if (counts.Length <= MaxLocalBins)
        {
            Add(values, min, max, counts);
            return;
        }

        var fine = FineScratch(counts.Length);
        Add(values, min, max, fine.AsSpan(0, counts.Length));
        FoldFine(fine, counts);
    }

    /// <summary>Float or double values, by their type.</summary>
    private static void Add<TValue, TCount>(ReadOnlySpan<TValue> values, double min, double max, Span<TCount> counts)
        where TValue : struct
        where TCount : unmanaged, IBinaryInteger<TCount>
    {
        if (typeof(TValue) == typeof(float))
        {
            AddFloats(MemoryMarshal.Cast<TValue, float>(values), min, max, counts);
        }
        else
        {
            AddDoubles(MemoryMarshal.Cast<TValue, double>(values), min, max, counts);
        }
    }

    private static void AddFloats<T>(ReadOnlySpan<float> values, double min, double max, Span<T> counts)
        where T : unmanaged, IBinaryInteger<T>
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

    private static void AddDoubles<T>(ReadOnlySpan<double> values, double min, double max, Span<T> counts)
        where T : unmanaged, IBinaryInteger<T>
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

    /// <summary>
    /// Bin index of each value, one fused vector pass (widen, subtract, scale, clamp to [0, bins − 1], truncate to
    /// int; AVX-512 or AVX when there, else <see cref="Vector{T}"/>); the arithmetic is the scalar kernel's, operation
    /// for operation, so all pick the same bin. False when a value is NaN: its index is then meaningless.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            ref var source = ref MemoryMarshal.GetReference(values);
            ref var target = ref MemoryMarshal.GetReference(indices);

            // Sixteen values a turn, no bounds checks; one vcmpordps tests both halves for NaN. The values 2 KB ahead
            // are asked for in advance: the histogram pass reads chunks from memory, not from the CPU caches, and
            // the hardware prefetcher starts over at every 4 KB page (0.54 → 0.38 ns/value for this loop on 400 MB).
            for (; i <= values.Length - (2 * Vector256<float>.Count); i += 2 * Vector256<float>.Count)
            {
                Prefetch(ref Unsafe.Add(ref source, i), PrefetchDistance);
                var a = Vector256.LoadUnsafe(ref source, (nuint)i);
                var b = Vector256.LoadUnsafe(ref source, (nuint)(i + Vector256<float>.Count));
                ordered &= Avx.CompareOrdered(a, b);
                BinVector(Avx512F.ConvertToVector512Double(a), lowest, factor, top).StoreUnsafe(ref target, (nuint)i);
                BinVector(Avx512F.ConvertToVector512Double(b), lowest, factor, top).StoreUnsafe(ref target, (nuint)(i + Vector256<float>.Count));
            }

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

    /// <summary>Prefetch hint for the cache line <paramref name="distance"/> floats past <paramref name="value"/>; a hint never faults, even past the end of the array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(ref float value, int distance) => Sse.Prefetch0((byte*)Unsafe.AsPointer(ref value) + (distance * sizeof(float)));

    /// <summary>The bin index of each NaN-free double (see the float overload).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    /// Adds the bin indices (each in [0, counts.Length − 1], as <see cref="BinIndices(ReadOnlySpan{float}, double, double, int, Span{int})"/>
    /// clamps them) to <paramref name="counts"/>. Few bins: four stack-local sub-histograms in turn, so runs of the same
    /// bin do not wait on each other's increments, added to the counts at the end. Many (the fine bins of the
    /// quantiles, int32 here: a thread's row or a counter's): one increment per index, straight into the counts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Count<T>(ReadOnlySpan<int> indices, Span<T> counts)
        where T : unmanaged, IBinaryInteger<T>
    {
        var bins = counts.Length;
        ref var index = ref MemoryMarshal.GetReference(indices);
        var n = indices.Length;
        if (bins > MaxLocalBins)
        {
            // Two indices per 64-bit load, zero-extended (no sign extension): about 10 % fewer instructions per value.
            ref var row = ref MemoryMarshal.GetReference(counts);
            ref var pairs = ref Unsafe.As<int, ulong>(ref index);
            nuint pairCount = (uint)n / 2;
            nuint k = 0;
            for (; k + 2 <= pairCount; k += 2)
            {
                var p0 = Unsafe.Add(ref pairs, k);
                var p1 = Unsafe.Add(ref pairs, k + 1);
                Unsafe.Add(ref row, (nuint)(uint)p0)++;
                Unsafe.Add(ref row, (nuint)(p0 >> 32))++;
                Unsafe.Add(ref row, (nuint)(uint)p1)++;
                Unsafe.Add(ref row, (nuint)(p1 >> 32))++;
            }

            for (var rest = (int)(2 * k); rest < n; rest++)
            {
                Unsafe.Add(ref row, (nuint)(uint)Unsafe.Add(ref index, rest))++;
            }

            return;
        }

        Span<int> local = stackalloc int[4 * bins];
        local.Clear();
        ref var l0 = ref MemoryMarshal.GetReference(local);
        ref var l1 = ref Unsafe.Add(ref l0, bins);
        ref var l2 = ref Unsafe.Add(ref l0, 2 * bins);
        ref var l3 = ref Unsafe.Add(ref l0, 3 * bins);
        var j = 0;
        for (; j <= n - 4; j += 4)
        {
            Unsafe.Add(ref l0, Unsafe.Add(ref index, j))++;
            Unsafe.Add(ref l1, Unsafe.Add(ref index, j + 1))++;
            Unsafe.Add(ref l2, Unsafe.Add(ref index, j + 2))++;
            Unsafe.Add(ref l3, Unsafe.Add(ref index, j + 3))++;
        }

        for (; j < n; j++)
        {
            Unsafe.Add(ref l0, Unsafe.Add(ref index, j))++;
        }

        for (var b = 0; b < bins; b++)
        {
            counts[b] += T.CreateTruncating(local[b] + local[bins + b] + local[(2 * bins) + b] + local[(3 * bins) + b]);
        }
    }

    /// <summary>
    /// A zeroed int32 row of at least <paramref name="bins"/> counts, this thread's own; <see cref="FoldFine"/> leaves
    /// it zeroed. One call counts at most <see cref="int.MaxValue"/> values (a span's length), so it cannot overflow.
    /// </summary>
    private static int[] FineScratch(int bins)
    {
        var scratch = t_fineCounts;
        if (scratch is null || scratch.Length < bins)
        {
            scratch = new int[bins];
            t_fineCounts = scratch;
        }

        return scratch;
    }

    /// <summary>Adds the first <c>counts.Length</c> entries of <paramref name="fine"/> to <paramref name="counts"/> and zeroes them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FoldFine(int[] fine, Span<long> counts)
    {
        var row = fine.AsSpan(0, counts.Length);
        var b = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; b <= row.Length - Vector<int>.Count; b += Vector<int>.Count)
            {
                Vector.Widen(new Vector<int>(row[b..]), out var low, out var high);
                var target = counts[b..];
                (new Vector<long>(target) + low).CopyTo(target);
                var upper = counts[(b + Vector<long>.Count)..];
                (new Vector<long>(upper) + high).CopyTo(upper);
            }
        }

        for (; b < row.Length; b++)
        {
            counts[b] += row[b];
        }

        row.Clear();
    }
}
