using System.Globalization;

namespace Workflows.Functions.Monitoring;

/// <summary>Input of <see cref="DriftCheckActivity"/>.</summary>
/// <param name="Model">The model's name in the registry and at the prediction service.</param>
/// <param name="Version">The version to check; null: the service's stable version.</param>
/// <param name="WarnThreshold">PSI from which a column has drifted moderately (<see cref="DriftCheckStatus.Warn"/>); default 0.1.</param>
/// <param name="AlertThreshold">PSI from which a column has drifted significantly (<see cref="DriftCheckStatus.Drift"/>); default 0.25, at least <paramref name="WarnThreshold"/>.</param>
/// <param name="MinSamples">Non-missing values a column needs in the sample for a verdict; default 500.</param>
/// <param name="StalenessLimit">Model age from which the model is stale; null: no limit.</param>
/// <param name="MaxRows">Most recent rows read from the service's sample; default 10,000.</param>
public sealed record DriftCheckInput(
    string Model,
    int? Version = null,
    double WarnThreshold = 0.1,
    double AlertThreshold = 0.25,
    long MinSamples = 500,
    TimeSpan? StalenessLimit = null,
    int MaxRows = 10_000)
{
    /// <summary>Every problem with the input, each naming its field; empty when it is valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Model))
        {
            problems.Add("model: required.");
        }

        if (Version is < 1)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"version: must be at least 1; got {Version}."));
        }

        if (!(WarnThreshold > 0) || double.IsInfinity(WarnThreshold))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"warnThreshold: must be a positive number; got {WarnThreshold}."));
        }

        if (!(AlertThreshold >= WarnThreshold) || double.IsInfinity(AlertThreshold))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"alertThreshold: must be a number at least warnThreshold ({WarnThreshold}); got {AlertThreshold}."));
        }

        if (MinSamples < 1)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"minSamples: must be at least 1; got {MinSamples}."));
        }

        if (StalenessLimit is { } limit && limit <= TimeSpan.Zero)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"stalenessLimit: must be positive; got {limit}."));
        }

        if (MaxRows < 1)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"maxRows: must be at least 1; got {MaxRows}."));
        }

        return problems;
    }
}
