using Workflows.ML.Kernels;
using Xunit;

namespace Workflows.ML.Tests;

/// <summary>The ILGPU kernels on ILGPU's CPU accelerator agree with the scalar reference.</summary>
public sealed class IlgpuKernelTests : IClassFixture<IlgpuKernelTests.CpuAccelerator>
{
    private readonly IlgpuStatisticsKernel _kernel;

    public IlgpuKernelTests(CpuAccelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        _kernel = accelerator.Kernel;
    }

    public static TheoryData<int> Lengths => [0, 1, 1023, 1024, 5_000];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ComputeMoments_Floats_MatchesScalarReference(int length)
    {
        var values = TestData.ToFloat(TestData.Normal(seed: length, count: length, mean: 100, std: 5, nanFraction: 0.01));

        KernelTests.AssertSame(ScalarStatisticsKernel.Instance.ComputeMoments(values), _kernel.ComputeMoments(values));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ComputeMoments_Doubles_MatchesScalarReference(int length)
    {
        var values = TestData.Normal(seed: length + 7, count: length, mean: -1e6, std: 3, nanFraction: 0.01);

        KernelTests.AssertSame(ScalarStatisticsKernel.Instance.ComputeMoments(values), _kernel.ComputeMoments(values));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AddToHistogram_MatchesScalarReferenceExactly(int length)
    {
        var values = TestData.Normal(seed: length + 3, count: length, mean: 0, std: 1, nanFraction: 0.02);
        var floats = TestData.ToFloat(values);
        long[] expected = new long[9], actual = new long[9], expectedFloat = new long[9], actualFloat = new long[9];

        ScalarStatisticsKernel.Instance.AddToHistogram(values, -2, 2, expected);
        _kernel.AddToHistogram(values, -2, 2, actual);
        ScalarStatisticsKernel.Instance.AddToHistogram(floats, -2, 2, expectedFloat);
        _kernel.AddToHistogram(floats, -2, 2, actualFloat);

        Assert.Equal(expected, actual);
        Assert.Equal(expectedFloat, actualFloat);

        var actualInt = new int[9];
        _kernel.AddToHistogram(floats, -2, 2, actualInt);
        _kernel.AddToHistogram(values, -2, 2, actualInt);
        Assert.Equal(expectedFloat.Zip(expected, (f, d) => f + d), actualInt.Select(c => (long)c));
    }

    /// <summary>One CPU accelerator for the class: creating one compiles the kernels, which takes a moment.</summary>
    public sealed class CpuAccelerator : IDisposable
    {
        public IlgpuStatisticsKernel Kernel { get; } = IlgpuStatisticsKernel.CreateCpu();

        public void Dispose() => Kernel.Dispose();
    }
}
