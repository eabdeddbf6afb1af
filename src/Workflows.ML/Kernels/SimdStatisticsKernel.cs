using Workflows.ML.Numerics;

namespace Workflows.ML.Kernels;

/// <summary>
/// The CPU kernel, a block of <see cref="BlockLength"/> values at a time, blocks merged with Chan's formula: the
/// moments are <see cref="SimdMoments"/>'s (fused vector passes over the floats, the corrected two-pass on a widened
/// copy for blocks with NaN and double data), the histograms <see cref="SimdHistograms"/>' (a fused vector pass writes
/// the bin indices, then a counting loop). Buffers live on the stack: nothing is allocated per call or per row.
/// </summary>
public sealed class SimdStatisticsKernel : IStatisticsKernel
{
    /// <summary>Values per block: small enough for L1/L2 and the stack, large enough to amortise the merges.</summary>
    public const int BlockLength = 2048;

    /// <summary>The shared instance; the kernel holds no state between calls.</summary>
    public static SimdStatisticsKernel Instance { get; } = new();

    /// <inheritdoc/>
    public string Name => "simd";

    /// <inheritdoc/>
    public Moments ComputeMoments(ReadOnlySpan<float> values) => SimdMoments.Compute(values);

    /// <inheritdoc/>
    public Moments ComputeMoments(ReadOnlySpan<double> values) => SimdMoments.Compute(values);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<long> counts) => SimdHistograms.AddToWide(values, min, max, counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<int> counts) => SimdHistograms.AddFloats(values, min, max, counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<long> counts) => SimdHistograms.AddToWide(values, min, max, counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<int> counts) => SimdHistograms.AddDoubles(values, min, max, counts);
}
