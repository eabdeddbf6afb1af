using System.Numerics;
using Workflows.ML.Numerics;

namespace Workflows.ML.Kernels;

/// <summary>
/// The reference kernel: one value at a time, Welford's update for the moments. Slow and obviously right; the
/// SIMD and ILGPU kernels are tested against it.
/// </summary>
public sealed class ScalarStatisticsKernel : IStatisticsKernel
{
    /// <summary>The shared instance; the kernel holds no state.</summary>
    public static ScalarStatisticsKernel Instance { get; } = new();

    /// <inheritdoc/>
    public string Name => "scalar";

    /// <inheritdoc/>
    public Moments ComputeMoments(ReadOnlySpan<float> values)
    {
        var welford = default(Welford);
        foreach (var value in values)
        {
            welford.Add(value);
        }

        return welford.ToMoments();
    }

    /// <inheritdoc/>
    public Moments ComputeMoments(ReadOnlySpan<double> values)
    {
        var welford = default(Welford);
        foreach (var value in values)
        {
            welford.Add(value);
        }

        return welford.ToMoments();
    }

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<long> counts) => Add(values, min, max, counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<long> counts) => Add(values, min, max, counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<int> counts) => Add(values, min, max, counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<int> counts) => Add(values, min, max, counts);

    private static void Add<TValue, TCount>(ReadOnlySpan<TValue> values, double min, double max, Span<TCount> counts)
        where TValue : IFloatingPointIeee754<TValue>
        where TCount : IBinaryInteger<TCount>
    {
        var scale = HistogramBins.Scale(min, max, counts.Length);
        foreach (var value in values)
        {
            if (!TValue.IsNaN(value))
            {
                counts[HistogramBins.Bin(double.CreateChecked(value), min, scale, counts.Length)]++;
            }
        }
    }

    private struct Welford
    {
        private long _count;
        private long _missing;
        private double _mean;
        private double _m2;
        private double _min;
        private double _max;

        public void Add(double value)
        {
            if (double.IsNaN(value))
            {
                _missing++;
                return;
            }

            if (_count == 0)
            {
                _min = value;
                _max = value;
            }

            _count++;
            var delta = value - _mean;
            _mean += delta / _count;
            _m2 += delta * (value - _mean);
            _min = Math.Min(_min, value);
            _max = Math.Max(_max, value);
        }

        public readonly Moments ToMoments() => new(_count, _missing, _mean, _m2, _min, _max);
    }
}
