using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Workflows.ML.Training;

/// <summary>
/// The SGD hot loop's vector arithmetic: dot products of the weights with rows, and gradient updates, for one row or
/// four rows at a time. Four rows share each load of the weights or of the gradient and run four independent
/// multiply-add chains, which keeps the core's FMA units busy where one row's single chain would wait on latency.
/// </summary>
/// <remarks>
/// <para>
/// Bit-for-bit contract: the four-row forms compute, for each row, exactly the same sequence of fused multiply-adds
/// as the one-row forms (one vector accumulator per row, the same horizontal sum, the same scalar tail), and the
/// four-row gradient update applies the rows in order 0..3 per element. So a group can fall back to row-by-row
/// processing (a row with a missing value) without changing a single bit of the result.
/// </para>
/// <para>
/// Every method is compiled fully optimized on first call: the tiered JIT's first tier does not expand vector
/// intrinsics, and a fresh worker's first epoch would otherwise run a several times slower loop for its first
/// hundreds of milliseconds. Vector width is <see cref="Vector{T}"/>'s (8 floats on AVX2 and AVX-512 machines).
/// </para>
/// </remarks>
internal static class SgdKernels
{
    /// <summary>The dot product of <paramref name="weights"/> with the first <c>weights.Length</c> values of <paramref name="row"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ReadOnlySpan<float> weights, ReadOnlySpan<float> row)
    {
        var n = weights.Length;
        if (row.Length < n)
        {
            throw new ArgumentException($"The row has {row.Length} values; {n} are needed.", nameof(row));
        }

        ref var w = ref MemoryMarshal.GetReference(weights);
        ref var x = ref MemoryMarshal.GetReference(row);
        var accumulator = Vector<float>.Zero;
        var i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            accumulator = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w, (nuint)i), Vector.LoadUnsafe(ref x, (nuint)i), accumulator);
        }

        var sum = Vector.Sum(accumulator);
        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref w, i), Unsafe.Add(ref x, i), sum);
        }

        return sum;
    }

    /// <summary>
    /// The dot products of <paramref name="weights"/> with the four rows of <paramref name="features"/> that start at
    /// offsets <paramref name="o0"/>..<paramref name="o3"/>; each equals <see cref="Dot"/> of that row bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4(
        ReadOnlySpan<float> weights, ReadOnlySpan<float> features, int o0, int o1, int o2, int o3, out float z0, out float z1, out float z2, out float z3)
    {
        var n = weights.Length;
        var rows = new FourRows(features, o0, o1, o2, o3, n);
        ref var w = ref MemoryMarshal.GetReference(weights);
        ref var x0 = ref rows.X0;
        ref var x1 = ref rows.X1;
        ref var x2 = ref rows.X2;
        ref var x3 = ref rows.X3;
        var a0 = Vector<float>.Zero;
        var a1 = Vector<float>.Zero;
        var a2 = Vector<float>.Zero;
        var a3 = Vector<float>.Zero;
        var i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            var wi = Vector.LoadUnsafe(ref w, (nuint)i);
            a0 = Vector.FusedMultiplyAdd(wi, Vector.LoadUnsafe(ref x0, (nuint)i), a0);
            a1 = Vector.FusedMultiplyAdd(wi, Vector.LoadUnsafe(ref x1, (nuint)i), a1);
            a2 = Vector.FusedMultiplyAdd(wi, Vector.LoadUnsafe(ref x2, (nuint)i), a2);
            a3 = Vector.FusedMultiplyAdd(wi, Vector.LoadUnsafe(ref x3, (nuint)i), a3);
        }

        z0 = Vector.Sum(a0);
        z1 = Vector.Sum(a1);
        z2 = Vector.Sum(a2);
        z3 = Vector.Sum(a3);
        for (; i < n; i++)
        {
            var wi = Unsafe.Add(ref w, i);
            z0 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref x0, i), z0);
            z1 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref x1, i), z1);
            z2 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref x2, i), z2);
            z3 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref x3, i), z3);
        }
    }

    /// <summary>
    /// <c>weights · (row - mean)</c> over <c>weights.Length</c> values: the scorer's centered logit, which keeps the
    /// precision of features far from zero (the trainer folds the mean into the bias instead, once per step).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float CenteredDot(ReadOnlySpan<float> weights, ReadOnlySpan<float> mean, ReadOnlySpan<float> row)
    {
        var n = weights.Length;
        if (row.Length < n || mean.Length < n)
        {
            throw new ArgumentException($"The row and the mean need {n} values each.", nameof(row));
        }

        ref var w = ref MemoryMarshal.GetReference(weights);
        ref var m = ref MemoryMarshal.GetReference(mean);
        ref var x = ref MemoryMarshal.GetReference(row);
        var accumulator = Vector<float>.Zero;
        var i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            var centered = Vector.LoadUnsafe(ref x, (nuint)i) - Vector.LoadUnsafe(ref m, (nuint)i);
            accumulator = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w, (nuint)i), centered, accumulator);
        }

        var sum = Vector.Sum(accumulator);
        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref w, i), Unsafe.Add(ref x, i) - Unsafe.Add(ref m, i), sum);
        }

        return sum;
    }

    /// <summary>
    /// <see cref="CenteredDot"/> of four rows of <paramref name="features"/> starting at offsets
    /// <paramref name="o0"/>..<paramref name="o3"/>, sharing the loads of the weights and the mean; each equals
    /// <see cref="CenteredDot"/> of that row bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CenteredDot4(
        ReadOnlySpan<float> weights, ReadOnlySpan<float> mean, ReadOnlySpan<float> features, int o0, int o1, int o2, int o3, out float z0, out float z1, out float z2, out float z3)
    {
        var n = weights.Length;
        if (mean.Length < n)
        {
            throw new ArgumentException($"The mean needs {n} values.", nameof(mean));
        }

        var rows = new FourRows(features, o0, o1, o2, o3, n);
        ref var w = ref MemoryMarshal.GetReference(weights);
        ref var m = ref MemoryMarshal.GetReference(mean);
        var a0 = Vector<float>.Zero;
        var a1 = Vector<float>.Zero;
        var a2 = Vector<float>.Zero;
        var a3 = Vector<float>.Zero;
        var i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            var wi = Vector.LoadUnsafe(ref w, (nuint)i);
            var mi = Vector.LoadUnsafe(ref m, (nuint)i);
            a0 = Vector.FusedMultiplyAdd(wi, Vector.LoadUnsafe(ref rows.X0, (nuint)i) - mi, a0);
            a1 = Vector.FusedMultiplyAdd(wi, Vector.LoadUnsafe(ref rows.X1, (nuint)i) - mi, a1);
            a2 = Vector.FusedMultiplyAdd(wi, Vector.LoadUnsafe(ref rows.X2, (nuint)i) - mi, a2);
            a3 = Vector.FusedMultiplyAdd(wi, Vector.LoadUnsafe(ref rows.X3, (nuint)i) - mi, a3);
        }

        z0 = Vector.Sum(a0);
        z1 = Vector.Sum(a1);
        z2 = Vector.Sum(a2);
        z3 = Vector.Sum(a3);
        for (; i < n; i++)
        {
            var wi = Unsafe.Add(ref w, i);
            var mi = Unsafe.Add(ref m, i);
            z0 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref rows.X0, i) - mi, z0);
            z1 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref rows.X1, i) - mi, z1);
            z2 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref rows.X2, i) - mi, z2);
            z3 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref rows.X3, i) - mi, z3);
        }
    }

    /// <summary><c>gradient += g · row</c> over <c>gradient.Length</c> values, one fused multiply-add per value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled(Span<float> gradient, float g, ReadOnlySpan<float> row)
    {
        var n = gradient.Length;
        if (row.Length < n)
        {
            throw new ArgumentException($"The row has {row.Length} values; {n} are needed.", nameof(row));
        }

        ref var a = ref MemoryMarshal.GetReference(gradient);
        ref var x = ref MemoryMarshal.GetReference(row);
        var gv = new Vector<float>(g);
        var i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector.FusedMultiplyAdd(gv, Vector.LoadUnsafe(ref x, (nuint)i), Vector.LoadUnsafe(ref a, (nuint)i)).StoreUnsafe(ref a, (nuint)i);
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref a, i) = MathF.FusedMultiplyAdd(g, Unsafe.Add(ref x, i), Unsafe.Add(ref a, i));
        }
    }

    /// <summary>
    /// <c>gradient += g0·row0 + g1·row1 + g2·row2 + g3·row3</c>, applied per value in row order, so the result equals
    /// four <see cref="AddScaled"/> calls bit for bit while loading and storing the gradient once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled4(Span<float> gradient, ReadOnlySpan<float> features, int o0, float g0, int o1, float g1, int o2, float g2, int o3, float g3)
    {
        var n = gradient.Length;
        var rows = new FourRows(features, o0, o1, o2, o3, n);
        ref var a = ref MemoryMarshal.GetReference(gradient);
        ref var x0 = ref rows.X0;
        ref var x1 = ref rows.X1;
        ref var x2 = ref rows.X2;
        ref var x3 = ref rows.X3;
        var v0 = new Vector<float>(g0);
        var v1 = new Vector<float>(g1);
        var v2 = new Vector<float>(g2);
        var v3 = new Vector<float>(g3);
        var i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            var sum = Vector.LoadUnsafe(ref a, (nuint)i);
            sum = Vector.FusedMultiplyAdd(v0, Vector.LoadUnsafe(ref x0, (nuint)i), sum);
            sum = Vector.FusedMultiplyAdd(v1, Vector.LoadUnsafe(ref x1, (nuint)i), sum);
            sum = Vector.FusedMultiplyAdd(v2, Vector.LoadUnsafe(ref x2, (nuint)i), sum);
            sum = Vector.FusedMultiplyAdd(v3, Vector.LoadUnsafe(ref x3, (nuint)i), sum);
            sum.StoreUnsafe(ref a, (nuint)i);
        }

        for (; i < n; i++)
        {
            var sum = Unsafe.Add(ref a, i);
            sum = MathF.FusedMultiplyAdd(g0, Unsafe.Add(ref x0, i), sum);
            sum = MathF.FusedMultiplyAdd(g1, Unsafe.Add(ref x1, i), sum);
            sum = MathF.FusedMultiplyAdd(g2, Unsafe.Add(ref x2, i), sum);
            sum = MathF.FusedMultiplyAdd(g3, Unsafe.Add(ref x3, i), sum);
            Unsafe.Add(ref a, i) = sum;
        }
    }

    /// <summary><c>destination = source · scale</c>, element-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(ReadOnlySpan<float> source, ReadOnlySpan<float> scale, Span<float> destination)
    {
        var n = destination.Length;
        if (source.Length < n || scale.Length < n)
        {
            throw new ArgumentException($"Multiply needs {n} values in each operand.", nameof(source));
        }

        ref var a = ref MemoryMarshal.GetReference(source);
        ref var b = ref MemoryMarshal.GetReference(scale);
        ref var d = ref MemoryMarshal.GetReference(destination);
        var i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            (Vector.LoadUnsafe(ref a, (nuint)i) * Vector.LoadUnsafe(ref b, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = Unsafe.Add(ref a, i) * Unsafe.Add(ref b, i);
        }
    }

    /// <summary>
    /// The SGD update of one weight row from its accumulated gradient: with <c>d = (gradient - gradientSum·mean) /
    /// std</c>, the gradient of the standardized-space weights, <c>weights = weights·decay + scale·d</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Update(Span<float> weights, ReadOnlySpan<float> gradient, float gradientSum, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseStd, float decay, float scale)
    {
        var n = weights.Length;
        if (gradient.Length < n || mean.Length < n || inverseStd.Length < n)
        {
            throw new ArgumentException($"Update needs {n} values in each operand.", nameof(gradient));
        }

        ref var w = ref MemoryMarshal.GetReference(weights);
        ref var g = ref MemoryMarshal.GetReference(gradient);
        ref var m = ref MemoryMarshal.GetReference(mean);
        ref var s = ref MemoryMarshal.GetReference(inverseStd);
        var minusSum = new Vector<float>(-gradientSum);
        var decayVector = new Vector<float>(decay);
        var scaleVector = new Vector<float>(scale);
        var i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            var d = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref m, (nuint)i), minusSum, Vector.LoadUnsafe(ref g, (nuint)i)) * Vector.LoadUnsafe(ref s, (nuint)i);
            Vector.FusedMultiplyAdd(d, scaleVector, Vector.LoadUnsafe(ref w, (nuint)i) * decayVector).StoreUnsafe(ref w, (nuint)i);
        }

        for (; i < n; i++)
        {
            var d = MathF.FusedMultiplyAdd(Unsafe.Add(ref m, i), -gradientSum, Unsafe.Add(ref g, i)) * Unsafe.Add(ref s, i);
            Unsafe.Add(ref w, i) = MathF.FusedMultiplyAdd(d, scale, Unsafe.Add(ref w, i) * decay);
        }
    }

    /// <summary>References to the starts of four rows of a row-major span, each checked to lie wholly inside it.</summary>
    private readonly ref struct FourRows
    {
        public readonly ref float X0;
        public readonly ref float X1;
        public readonly ref float X2;
        public readonly ref float X3;

        public FourRows(ReadOnlySpan<float> features, int o0, int o1, int o2, int o3, int length)
        {
            ref var start = ref MemoryMarshal.GetReference(features);
            X0 = ref Unsafe.Add(ref start, Check(features, o0, length));
            X1 = ref Unsafe.Add(ref start, Check(features, o1, length));
            X2 = ref Unsafe.Add(ref start, Check(features, o2, length));
            X3 = ref Unsafe.Add(ref start, Check(features, o3, length));
        }

        private static int Check(ReadOnlySpan<float> features, int offset, int length) =>
            (uint)offset <= (uint)features.Length && features.Length - offset >= length
                ? offset
                : throw new ArgumentOutOfRangeException(nameof(offset), $"A row of {length} values at {offset} does not fit in {features.Length} values.");
    }
}
