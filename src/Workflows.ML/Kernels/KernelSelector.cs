using Microsoft.Extensions.Logging;

namespace Workflows.ML.Kernels;

/// <summary>Picks the kernel a worker uses: the ILGPU kernel on a CUDA device when there is one, else the SIMD CPU kernel.</summary>
public static class KernelSelector
{
    private static readonly Lazy<Selection> Best = new(Select, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The kernel for this process, chosen once.</summary>
    public static IStatisticsKernel Default => Best.Value.Kernel;

    /// <summary>
    /// The kernel for this process, as <see cref="Default"/>. When the choice fell back to the SIMD kernel because a
    /// CUDA driver or device was there but could not be used, every call logs why through <paramref name="logger"/>.
    /// </summary>
    public static IStatisticsKernel GetDefault(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        var best = Best.Value;
        if (best.CudaFailure is not null)
        {
            MlLog.CudaUnusable(logger, best.CudaFailure);
        }

        return best.Kernel;
    }

    private static Selection Select()
    {
        try
        {
            return new Selection(IlgpuStatisticsKernel.TryCreateCuda() ?? (IStatisticsKernel)SimdStatisticsKernel.Instance, null);
        }
        catch (Exception exception) when (exception is DllNotFoundException or TypeInitializationException or NotSupportedException or InvalidOperationException)
        {
            // No CUDA driver (or an unusable one): the CPU path is always there and never needs ILGPU.
            return new Selection(SimdStatisticsKernel.Instance, exception);
        }
    }

    /// <summary>The chosen kernel, and why CUDA was passed over when it failed (null when it was not there or was chosen).</summary>
    private sealed record Selection(IStatisticsKernel Kernel, Exception? CudaFailure);
}
