using Microsoft.Extensions.Logging;
using Workflows.ML.Kernels;
using Workflows.Testing;
using Xunit;

namespace Workflows.ML.Tests;

public sealed class KernelSelectorTests
{
    [Fact]
    public void Default_MatchesWhetherACudaDeviceExists()
    {
        using var cuda = IlgpuStatisticsKernel.TryCreateCuda();

        Assert.Equal(cuda is null ? "simd" : "ilgpu-cuda", KernelSelector.Default.Name);
    }

    [Fact]
    public void GetDefault_TheDefaultKernel_LoggingOnlyWhyCudaWasPassedOver()
    {
        var logger = new RecordingLogger();

        var kernel = KernelSelector.GetDefault(logger);

        // An entry only when a CUDA driver or device failed, and then the kernel is the SIMD one.
        Assert.Same(KernelSelector.Default, kernel);
        Assert.All(logger.Entries, entry => Assert.Equal(("simd", LogLevel.Warning, true), (kernel.Name, entry.Level, entry.Exception is not null)));
    }
}
