namespace Workflows.ML.Numerics;

/// <summary>
/// SplitMix64: a tiny generator whose output is fixed by its seed forever, unlike <see cref="Random"/> whose
/// algorithm may change between runtimes; shuffles must replay identically after a crash and on another worker.
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    private SplitMix64(ulong state) => _state = state;

    /// <summary>A stream keyed by (seed, purpose, epoch, chunk); different keys give independent streams.</summary>
    public static SplitMix64 For(ulong seed, ulong purpose, long epoch, long chunk)
    {
        var state = Finalize(seed ^ 0x6A09E667F3BCC909UL);
        state = Finalize(state ^ purpose);
        state = Finalize(state ^ (ulong)epoch);
        state = Finalize(state ^ (ulong)chunk);
        return new SplitMix64(state);
    }

    public ulong Next()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Finalize(_state);
    }

    /// <summary>Uniform integer in [0, bound) by Lemire's multiply-high (bias below 2^-32 for our bounds).</summary>
    public int NextInt(int bound) => (int)Math.BigMul(Next(), (ulong)bound, out _);

    /// <summary>Fisher–Yates shuffle of <paramref name="values"/> in place.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Shuffle(Span<int> values)
    {
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    private static ulong Finalize(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
