using Workflows.ML.Kernels;
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
}
