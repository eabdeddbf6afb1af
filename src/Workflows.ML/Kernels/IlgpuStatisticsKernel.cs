using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Workflows.ML.Numerics;

namespace Workflows.ML.Kernels;

/// <summary>
/// The statistics reductions as ILGPU kernels: each thread reduces one contiguous segment (a corrected two-pass,
/// like the SIMD kernel's blocks) and the host merges the segments with Chan's formula; histogram bins are counted
/// with atomic adds. Runs on a CUDA device when there is one (<see cref="TryCreateCuda"/>) and on ILGPU's CPU
/// accelerator for tests (<see cref="CreateCpu"/>). Only this class and <see cref="KernelSelector"/> touch ILGPU.
/// </summary>
public sealed class IlgpuStatisticsKernel : IStatisticsKernel, IDisposable
{
    /// <summary>Values per thread: long enough to amortise the per-segment merge on the host.</summary>
    private const int SegmentLength = 1024;

    /// <summary>
    /// Values per histogram thread: a thread per value drowns ILGPU's CPU accelerator in thread switches, while
    /// 256 still leaves a GPU thousands of threads per chunk column.
    /// </summary>
    private const int HistogramSegmentLength = 256;

    private const int Fields = SegmentReducer.Fields;

    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly Action<Index1D, ArrayView<float>, int, ArrayView<double>> _momentsFloat;
    private readonly Action<Index1D, ArrayView<double>, int, ArrayView<double>> _momentsDouble;
    private readonly Action<Index1D, ArrayView<float>, double, double, int, ArrayView<long>> _histogramFloat;
    private readonly Action<Index1D, ArrayView<double>, double, double, int, ArrayView<long>> _histogramDouble;
    private readonly Lock _gate = new();

    private IlgpuStatisticsKernel(Context context, Accelerator accelerator, string name)
    {
        _context = context;
        _accelerator = accelerator;
        Name = name;
        _momentsFloat = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, ArrayView<double>>(MomentsKernel);
        _momentsDouble = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, int, ArrayView<double>>(MomentsKernel);
        _histogramFloat = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, double, double, int, ArrayView<long>>(HistogramKernel);
        _histogramDouble = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, double, double, int, ArrayView<long>>(HistogramKernel);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The kernel on ILGPU's CPU accelerator (tests, machines without a GPU).</summary>
    public static IlgpuStatisticsKernel CreateCpu()
    {
        var context = Context.Create(builder => builder.CPU());
        return new IlgpuStatisticsKernel(context, context.CreateCPUAccelerator(0), "ilgpu-cpu");
    }

    /// <summary>The kernel on the first CUDA device, or <see langword="null"/> when there is none.</summary>
    public static IlgpuStatisticsKernel? TryCreateCuda()
    {
        var context = Context.Create(builder => builder.Cuda());
        if (context.GetCudaDevices().Count == 0)
        {
            context.Dispose();
            return null;
        }

        return new IlgpuStatisticsKernel(context, context.CreateCudaAccelerator(0), "ilgpu-cuda");
    }

    /// <inheritdoc/>
    public Moments ComputeMoments(ReadOnlySpan<float> values) => RunMoments(values, _momentsFloat);

    /// <inheritdoc/>
    public Moments ComputeMoments(ReadOnlySpan<double> values) => RunMoments(values, _momentsDouble);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<long> counts) =>
        Add(RunHistogram(values, min, max, counts.Length, _histogramFloat), counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<long> counts) =>
        Add(RunHistogram(values, min, max, counts.Length, _histogramDouble), counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<float> values, double min, double max, Span<int> counts) =>
        Add(RunHistogram(values, min, max, counts.Length, _histogramFloat), counts);

    /// <inheritdoc/>
    public void AddToHistogram(ReadOnlySpan<double> values, double min, double max, Span<int> counts) =>
        Add(RunHistogram(values, min, max, counts.Length, _histogramDouble), counts);

    /// <inheritdoc/>
    public void Dispose()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }

    private static int Segments(int length) => (length + SegmentLength - 1) / SegmentLength;

    // The kernels come in float and double twins on purpose: ILGPU compiles a kernel for one concrete element
    // type, and generic-math conversions inside a kernel do not compile for the GPU. The shared work is in
    // SegmentReducer.
    private static void MomentsKernel(Index1D segment, ArrayView<float> values, int length, ArrayView<double> output)
    {
        var start = segment * SegmentLength;
        var end = Math.Min(start + SegmentLength, length);
        var reducer = default(SegmentReducer);
        for (var i = start; i < end; i++)
        {
            reducer.First(values[i]);
        }

        reducer.EndFirst();
        for (var i = start; i < end; i++)
        {
            reducer.Second(values[i]);
        }

        reducer.Write(output, segment);
    }

    private static void MomentsKernel(Index1D segment, ArrayView<double> values, int length, ArrayView<double> output)
    {
        var start = segment * SegmentLength;
        var end = Math.Min(start + SegmentLength, length);
        var reducer = default(SegmentReducer);
        for (var i = start; i < end; i++)
        {
            reducer.First(values[i]);
        }

        reducer.EndFirst();
        for (var i = start; i < end; i++)
        {
            reducer.Second(values[i]);
        }

        reducer.Write(output, segment);
    }

    private static void HistogramKernel(Index1D segment, ArrayView<float> values, double min, double scale, int bins, ArrayView<long> counts)
    {
        var end = Math.Min((segment + 1) * HistogramSegmentLength, (int)values.Length);
        for (var i = segment * HistogramSegmentLength; i < end; i++)
        {
            double value = values[i];
            if (!double.IsNaN(value))
            {
                Atomic.Add(ref counts[SegmentReducer.Bin(value, min, scale, bins)], 1L);
            }
        }
    }

    private static void HistogramKernel(Index1D segment, ArrayView<double> values, double min, double scale, int bins, ArrayView<long> counts)
    {
        var end = Math.Min((segment + 1) * HistogramSegmentLength, (int)values.Length);
        for (var i = segment * HistogramSegmentLength; i < end; i++)
        {
            var value = values[i];
            if (!double.IsNaN(value))
            {
                Atomic.Add(ref counts[SegmentReducer.Bin(value, min, scale, bins)], 1L);
            }
        }
    }

    private Moments RunMoments<T>(ReadOnlySpan<T> values, Action<Index1D, ArrayView<T>, int, ArrayView<double>> kernel)
        where T : unmanaged
    {
        if (values.IsEmpty)
        {
            return Moments.Empty;
        }

        lock (_gate)
        {
            using var input = _accelerator.Allocate1D<T>(values.Length);
            input.View.CopyFromCPU(_accelerator.DefaultStream, values);
            var segments = Segments(values.Length);
            using var output = _accelerator.Allocate1D<double>(segments * Fields);
            kernel(segments, input.View, values.Length, output.View);
            _accelerator.Synchronize();
            var results = output.GetAsArray1D();
            var total = Moments.Empty;
            for (var s = 0; s < segments; s++)
            {
                total = Moments.Merge(total, SegmentReducer.Read(results, s));
            }

            return total;
        }
    }

    /// <summary>Adds the device's counts to <paramref name="counts"/> (none when no values were counted); a count past the type's range throws.</summary>
    private static void Add<TCount>(long[]? added, Span<TCount> counts)
        where TCount : IBinaryInteger<TCount>
    {
        if (added is null)
        {
            return;
        }

        for (var b = 0; b < counts.Length; b++)
        {
            counts[b] = checked(counts[b] + TCount.CreateChecked(added[b]));
        }
    }

    /// <summary>The counts of <paramref name="values"/> in <paramref name="binCount"/> bins, counted on the device; null when there are no values.</summary>
    private long[]? RunHistogram<T>(ReadOnlySpan<T> values, double min, double max, int binCount, Action<Index1D, ArrayView<T>, double, double, int, ArrayView<long>> kernel)
        where T : unmanaged
    {
        if (values.IsEmpty)
        {
            return null;
        }

        lock (_gate)
        {
            using var input = _accelerator.Allocate1D<T>(values.Length);
            input.View.CopyFromCPU(_accelerator.DefaultStream, values);
            using var bins = _accelerator.Allocate1D<long>(binCount);
            bins.MemSetToZero();
            var segments = (values.Length + HistogramSegmentLength - 1) / HistogramSegmentLength;
            kernel(segments, input.View, min, HistogramBins.Scale(min, max, binCount), binCount, bins.View);
            _accelerator.Synchronize();
            return bins.GetAsArray1D();
        }
    }
}
