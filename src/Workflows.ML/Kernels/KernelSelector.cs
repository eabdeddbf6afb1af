namespace Workflows.ML.Kernels;

/// <summary>Picks the kernel a worker uses: the ILGPU kernel on a CUDA device when there is one, else the SIMD CPU kernel.</summary>
public static class KernelSelector
{
    private static readonly Lazy<IStatisticsKernel> Best = new(Select, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The kernel for this process, chosen once.</summary>
    public static IStatisticsKernel Default => Best.Value;

    private static IStatisticsKernel Select()
    {
        try
        {
            return IlgpuStatisticsKernel.TryCreateCuda() ?? (IStatisticsKernel)SimdStatisticsKernel.Instance;
        }
        catch (Exception exception) when (exception is DllNotFoundException or TypeInitializationException or NotSupportedException or InvalidOperationException)
        {
            // No CUDA driver (or an unusable one): the CPU path is always there and never needs ILGPU.
            return SimdStatisticsKernel.Instance;
        }
    }
}
