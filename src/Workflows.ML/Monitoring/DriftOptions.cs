namespace Workflows.ML.Monitoring;

/// <summary>Thresholds of a drift check.</summary>
/// <param name="ModerateThreshold">PSI from which a shift is moderate (0.1).</param>
/// <param name="SignificantThreshold">PSI from which a shift is significant (0.25).</param>
/// <param name="MinimumSamples">
/// Non-NaN values a column needs for a verdict; below it the column is <see cref="DriftStatus.Inconclusive"/>. PSI of
/// two samples of one distribution is biased upwards by about (bins − 1)·(1/n + 1/N): 0.018 for deciles and n = 500.
/// </param>
/// <param name="Epsilon">The share an empty bin counts as (<see cref="PopulationStability.DefaultEpsilon"/>).</param>
/// <param name="MaxModelAge">Model age from which the model is stale; <see langword="null"/>: no age limit.</param>
public sealed record DriftOptions(
    double ModerateThreshold = 0.1,
    double SignificantThreshold = 0.25,
    long MinimumSamples = 500,
    double Epsilon = PopulationStability.DefaultEpsilon,
    TimeSpan? MaxModelAge = null)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!(ModerateThreshold > 0) || double.IsInfinity(ModerateThreshold))
        {
            throw new ArgumentException($"{nameof(ModerateThreshold)} must be a positive number; got {ModerateThreshold}.");
        }

        if (!(SignificantThreshold >= ModerateThreshold) || double.IsInfinity(SignificantThreshold))
        {
            throw new ArgumentException($"{nameof(SignificantThreshold)} must be a number at least {nameof(ModerateThreshold)} ({ModerateThreshold}); got {SignificantThreshold}.");
        }

        if (MinimumSamples < 1)
        {
            throw new ArgumentException($"{nameof(MinimumSamples)} must be at least 1; got {MinimumSamples}.");
        }

        if (!(Epsilon is > 0 and < 0.01))
        {
            throw new ArgumentException($"{nameof(Epsilon)} must be in (0, 0.01); got {Epsilon}.");
        }

        if (MaxModelAge is { } age && age <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(MaxModelAge)} must be positive; got {age}.");
        }
    }
}
