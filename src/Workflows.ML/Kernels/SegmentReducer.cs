using ILGPU;
using Workflows.ML.Numerics;

namespace Workflows.ML.Kernels;

/// <summary>
/// Per-thread state of the ILGPU moments kernel: a corrected two-pass over one segment (plain fields and
/// arithmetic only, so ILGPU can compile it for the GPU). The host reads the segments back and merges them.
/// </summary>
internal struct SegmentReducer
{
    /// <summary>Doubles written per segment: count, missing, mean, M2, min, max.</summary>
    public const int Fields = 6;

    private double _count;
    private double _missing;
    private double _sum;
    private double _min;
    private double _max;
    private double _mean;
    private double _m2;
    private double _correction;

    public void First(double value)
    {
        if (double.IsNaN(value))
        {
            _missing += 1;
            return;
        }

        if (_count == 0)
        {
            _min = value;
            _max = value;
        }

        _count += 1;
        _sum += value;
        _min = value < _min ? value : _min;
        _max = value > _max ? value : _max;
    }

    public void EndFirst() => _mean = _count > 0 ? _sum / _count : 0;

    public void Second(double value)
    {
        if (!double.IsNaN(value))
        {
            var deviation = value - _mean;
            _correction += deviation;
            _m2 += deviation * deviation;
        }
    }

    public readonly void Write(ArrayView<double> output, int segment)
    {
        var at = segment * Fields;
        var m2 = _count > 0 ? _m2 - (_correction * _correction / _count) : 0;
        output[at] = _count;
        output[at + 1] = _missing;
        output[at + 2] = _count > 0 ? _mean + (_correction / _count) : 0;
        output[at + 3] = m2 > 0 ? m2 : 0;
        output[at + 4] = _min;
        output[at + 5] = _max;
    }

    public static Moments Read(double[] results, int segment)
    {
        var at = segment * Fields;
        return new Moments((long)results[at], (long)results[at + 1], results[at + 2], results[at + 3], results[at + 4], results[at + 5]);
    }

    /// <summary>The bin of <see cref="HistogramBins.Bin"/>, written with comparisons ILGPU compiles.</summary>
    public static int Bin(double value, double min, double scale, int bins)
    {
        var position = (value - min) * scale;
        return position <= 0 ? 0 : position >= bins - 1 ? bins - 1 : (int)position;
    }
}
