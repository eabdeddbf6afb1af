using Workflows.ML.Training;
using Xunit;

namespace Workflows.ML.Tests.Training;

public sealed class SgdKernelsTests
{
    // Lengths around the vector width (4 or 8 floats) exercise the vector body, the scalar tail, and both.
    public static TheoryData<int> Lengths => [1, 3, 4, 7, 8, 9, 16, 17, 100, 101];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Dot_MatchesDoublePrecisionReference(int length)
    {
        var (weights, features) = Data(length, rows: 1, seed: 1);

        var dot = SgdKernels.Dot(weights, features);

        double expected = 0;
        for (var i = 0; i < length; i++)
        {
            expected += (double)weights[i] * features[i];
        }

        Assert.Equal(expected, dot, 1e-4 * Math.Max(1, Math.Abs(expected)));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Dot4_EachRowBitIdenticalToDot(int length)
    {
        var (weights, features) = Data(length, rows: 9, seed: 2);
        int[] offsets = [5 * length, 0, 8 * length, 3 * length];

        SgdKernels.Dot4(weights, features, offsets[0], offsets[1], offsets[2], offsets[3], out var z0, out var z1, out var z2, out var z3);

        float[] four = [z0, z1, z2, z3];
        for (var r = 0; r < 4; r++)
        {
            Assert.Equal(SgdKernels.Dot(weights, features.AsSpan(offsets[r], length)), four[r]);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AddScaled4_BitIdenticalToFourAddScaledInRowOrder(int length)
    {
        var (start, features) = Data(length, rows: 9, seed: 3);
        int[] offsets = [2 * length, 7 * length, 0, 2 * length];
        float[] g = [0.75f, -0.125f, 1e-3f, -2.5f];
        var one = (float[])start.Clone();
        var four = (float[])start.Clone();

        for (var r = 0; r < 4; r++)
        {
            SgdKernels.AddScaled(one, g[r], features.AsSpan(offsets[r], length));
        }

        SgdKernels.AddScaled4(four, features, offsets[0], g[0], offsets[1], g[1], offsets[2], g[2], offsets[3], g[3]);

        Assert.Equal(one, four);
        Assert.NotEqual(start, four);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AddScaled_MatchesDoublePrecisionReference(int length)
    {
        var (gradient, row) = Data(length, rows: 1, seed: 4);
        var expected = gradient.Select((a, i) => a + (-0.3 * row[i])).ToArray();

        SgdKernels.AddScaled(gradient, -0.3f, row);

        for (var i = 0; i < length; i++)
        {
            Assert.Equal(expected[i], gradient[i], 1e-6);
        }
    }

    [Fact]
    public void Update_AppliesDecayAndTheStandardizedGradient()
    {
        float[] weights = [1f, -2f];
        float[] gradient = [3f, 5f];
        float[] mean = [0.5f, 1f];
        float[] inverseStd = [2f, 0.25f];

        SgdKernels.Update(weights, gradient, gradientSum: 2f, mean, inverseStd, decay: 0.9f, scale: -0.1f);

        // d = (gradient - 2·mean) / std = [(3 - 1)·2, (5 - 2)·0.25] = [4, 0.75]; w = 0.9·w - 0.1·d.
        Assert.Equal(0.9f - 0.4f, weights[0], 6);
        Assert.Equal(-1.8f - 0.075f, weights[1], 6);
    }

    [Fact]
    public void Dot4_RowPastTheEnd_Throws()
    {
        var (weights, features) = Data(8, rows: 2, seed: 5);

        Assert.Throws<ArgumentOutOfRangeException>(
            () => SgdKernels.Dot4(weights, features, 0, 8, 9, 0, out _, out _, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(
            () => SgdKernels.AddScaled4(new float[8], features, 0, 1f, -1, 1f, 0, 1f, 0, 1f));
        Assert.Throws<ArgumentException>(() => SgdKernels.Dot(weights, features.AsSpan(0, 7)));
    }

    private static (float[] First, float[] Rows) Data(int length, int rows, int seed)
    {
        var random = new Random(seed);
        var first = Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        var values = Enumerable.Range(0, length * rows).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
        return (first, values);
    }
}
