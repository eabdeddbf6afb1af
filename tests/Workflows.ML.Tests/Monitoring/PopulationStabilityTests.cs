using Workflows.ML.Monitoring;
using Xunit;

namespace Workflows.ML.Tests.Monitoring;

public sealed class PopulationStabilityTests
{
    [Fact]
    public void Index_TwoBins_MatchesHandComputedValue()
    {
        // (0.6 − 0.5)·ln(0.6/0.5) + (0.4 − 0.5)·ln(0.4/0.5) = 0.1·ln 1.2 + 0.1·ln 1.25
        // = 0.1·0.182321556794 + 0.1·0.223143551314 = 0.0405465108108.
        var psi = PopulationStability.Index([0.5, 0.5], [0.6, 0.4]);

        Assert.Equal(0.0405465108108, psi, 12);
    }

    [Fact]
    public void Index_EmptyReferenceBin_CountsAsEpsilon()
    {
        // Bin 3 is empty in the reference, so it counts as 1e-4:
        // 0 + (0.4 − 0.5)·ln(0.8) + (0.1 − 0.0001)·ln(0.1 / 0.0001) = 0.0223143551 + 0.0999·6.90775527898 = 0.7123991075.
        var psi = PopulationStability.Index([0.5, 0.5, 0], [0.5, 0.4, 0.1]);

        Assert.Equal(0.7123991075, psi, 9);
    }

    [Fact]
    public void Index_Counts_SameAsShares()
    {
        Assert.Equal(PopulationStability.Index([0.25, 0.75], [0.5, 0.5]), PopulationStability.Index([0.25, 0.75], [10L, 10L]), 15);
        Assert.True(double.IsNaN(PopulationStability.Index([0.5, 0.5], [0L, 0L])));
    }

    [Fact]
    public void Index_EqualDistributions_IsZero()
    {
        Assert.Equal(0, PopulationStability.Index([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]));
    }

    [Fact]
    public void Index_BadInput_Throws()
    {
        Assert.Throws<ArgumentException>(() => PopulationStability.Index([0.5, 0.5], [1.0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PopulationStability.Index([0.5, 0.5], [0.5, 0.5], epsilon: 0));
    }

    [Fact]
    public void BetweenSamples_SameSample_IsZero_ShiftedSample_IsSignificant()
    {
        var stable = TestData.Normal(seed: 4, count: 5_000, mean: 0, std: 1);
        var shifted = Array.ConvertAll(stable, v => v + 1);

        Assert.Equal(0, PopulationStability.BetweenSamples(stable, stable), 12);
        Assert.True(PopulationStability.BetweenSamples(stable, shifted) > 0.25);
        Assert.True(double.IsNaN(PopulationStability.BetweenSamples(stable, [double.NaN])));
    }

    [Fact]
    public void BetweenSamples_TenValues_DecileBinsHoldOneEach()
    {
        // Deciles of 1..10 (the ceil(q·n)-th smallest value) are 1..9, so the edges 1..9 make bins (−∞, 1), [1, 2), ...,
        // [8, 9), [9, ∞): 1..8 fill bins 1..8 with 0.1 each, 9 and 10 the last bin (0.2), bin 0 is empty in both
        // (0 terms); 11..20 all land in the last bin.
        double[] stable = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        double[] later = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];

        // Last bin: (1 − 0.2)·ln(1 / 0.2) = 0.8·1.6094379124 = 1.2875503299; bins 1..8: (0.0001 − 0.1)·ln(0.0001 / 0.1)
        // = 0.0999·6.9077552790 = 0.6900847524 each, 5.5206780190 together; PSI = 6.8082283489.
        const double expected = 6.8082283489;
        Assert.Equal(expected, PopulationStability.BetweenSamples(stable, later), 9);
    }
}
