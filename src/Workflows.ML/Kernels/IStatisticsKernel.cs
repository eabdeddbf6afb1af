using Workflows.ML.Numerics;

namespace Workflows.ML.Kernels;

/// <summary>
/// The per-chunk reductions of the statistics: moments (count, missing, mean, M2, min, max) and fixed-bin
/// histogram counts. Implementations must agree with <see cref="ScalarStatisticsKernel"/>, the reference.
/// </summary>
public interface IStatisticsKernel
{
    /// <summary>Short name for reports: scalar, simd, ilgpu-cpu, ilgpu-cuda.</summary>
    string Name { get; }

    /// <summary>Moments of float32 values; NaN counts as missing.</summary>
    Moments ComputeMoments(ReadOnlySpan<float> values);

    /// <summary>Moments of double values; NaN counts as missing.</summary>
    Moments ComputeMoments(ReadOnlySpan<double> values);

    /// <summary>
    /// Adds each non-NaN value to one of <c>counts.Length</c> equal-width bins over [min, max]; the last bin is
    /// closed, values outside the range go to the nearest end bin.
    /// </summary>
    void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<long> counts);

    /// <inheritdoc cref="AddToHistogram(ReadOnlySpan{float}, double, double, Span{long})"/>
    void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<long> counts);

    /// <summary>
    /// As <see cref="AddToHistogram(ReadOnlySpan{float}, double, double, Span{long})"/>, into 32-bit counts: half the
    /// bytes, so a counter keeps a row per column without a wider copy to fold into. The caller keeps every count
    /// within <see cref="int.MaxValue"/> (see <c>HistogramCounter</c>).
    /// </summary>
    void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<int> counts);

    /// <inheritdoc cref="AddToHistogram(ReadOnlySpan{float}, double, double, Span{int})"/>
    void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<int> counts);
}
