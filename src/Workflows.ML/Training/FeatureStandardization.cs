namespace Workflows.ML.Training;

/// <summary>
/// Per-feature mean and standard deviation (from the chunked-statistics artifact) that turn a raw feature into
/// <c>(x - mean) / std</c>. A feature whose std is zero or not finite is only centered (its scale is taken as 1),
/// because dividing a constant column by zero would poison every weight.
/// </summary>
public sealed class FeatureStandardization
{
    private readonly float[] _mean;
    private readonly float[] _std;
    private readonly float[] _inverseStd;

    /// <summary>Creates the standardization; both arrays have one entry per feature and are copied.</summary>
    public FeatureStandardization(ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        if (mean.Length != std.Length || mean.Length == 0)
        {
            throw new ArgumentException($"Standardization needs one mean and one std per feature (got {mean.Length} means and {std.Length} stds).");
        }

        _mean = mean.ToArray();
        _std = std.ToArray();
        _inverseStd = new float[_std.Length];
        for (var i = 0; i < _mean.Length; i++)
        {
            if (!float.IsFinite(_mean[i]))
            {
                throw new ArgumentException($"Standardization mean of feature {i} is {_mean[i]}; it must be finite.");
            }

            _inverseStd[i] = _std[i] > 0 && float.IsFinite(_std[i]) ? 1f / _std[i] : 1f;
        }
    }

    /// <summary>Number of features.</summary>
    public int FeatureCount => _mean.Length;

    /// <summary>Per-feature mean.</summary>
    public ReadOnlySpan<float> Mean => _mean;

    /// <summary>Per-feature standard deviation as given.</summary>
    public ReadOnlySpan<float> Std => _std;

    /// <summary>Per-feature scale actually applied: <c>1 / std</c>, or 1 where std is zero or not finite.</summary>
    public ReadOnlySpan<float> InverseStd => _inverseStd;

    /// <summary>No-op standardization (mean 0, std 1) for data that is already standardized.</summary>
    public static FeatureStandardization Identity(int featureCount)
    {
        var std = new float[featureCount];
        Array.Fill(std, 1f);
        return new FeatureStandardization(new float[featureCount], std);
    }
}
