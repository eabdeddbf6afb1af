namespace Workflows.ML.Monitoring;

/// <summary>Compares serving data counted into a reference profile's bins with the profile (PSI per column, staleness).</summary>
public static class DriftDetector
{
    /// <summary>
    /// The drift report of <paramref name="sample"/> (serving inputs and predictions counted by
    /// <see cref="BinCounts.Add"/>) against <paramref name="profile"/>, as of <paramref name="now"/>.
    /// </summary>
    public static DriftReport Compare(ReferenceProfile profile, BinCounts sample, DateTimeOffset now, DriftOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(sample);
        options ??= new DriftOptions();
        options.Validate();
        sample.EnsureFits(profile);

        var features = new ColumnDrift[profile.Features.Count];
        ColumnDrift? worst = null;
        var status = DriftStatus.Stable;
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = Column(profile.Features[i], sample.Counts[i], sample.Missing[i], options);
            status = Worse(status, features[i].Status);
            if (features[i].Psi is { } psi && (worst?.Psi is not { } worstPsi || psi > worstPsi))
            {
                worst = features[i];
            }
        }

        var prediction = Column(profile.Prediction, sample.Counts[^1], sample.Missing[^1], options);
        status = Worse(status, prediction.Status);
        var age = now - profile.CreatedAt;
        var stale = options.MaxModelAge is { } limit && age >= limit;
        return new DriftReport(status, features, prediction, worst, sample.Rows, profile.Rows, age, stale);
    }

    /// <summary>The verdict for one PSI value: Stable, Moderate or Significant by the thresholds of <paramref name="options"/>.</summary>
    public static DriftStatus Classify(double psi, DriftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return psi >= options.SignificantThreshold ? DriftStatus.Significant
            : psi >= options.ModerateThreshold ? DriftStatus.Moderate
            : DriftStatus.Stable;
    }

    private static ColumnDrift Column(ColumnReference reference, long[] counts, long missing, DriftOptions options)
    {
        long samples = 0;
        foreach (var count in counts)
        {
            samples += count;
        }

        var rows = samples + missing;
        var missingRate = rows == 0 ? double.NaN : (double)missing / rows;
        var referenceRows = reference.Count + reference.Missing;
        var referenceMissingRate = referenceRows == 0 ? double.NaN : (double)reference.Missing / referenceRows;
        if (samples < options.MinimumSamples || reference.Count == 0)
        {
            return new ColumnDrift(reference.Name, reference.Index, null, DriftStatus.Inconclusive, samples, missing, missingRate, referenceMissingRate);
        }

        var psi = PopulationStability.Index(reference.Proportions, counts, options.Epsilon);
        return new ColumnDrift(reference.Name, reference.Index, psi, Classify(psi, options), samples, missing, missingRate, referenceMissingRate);
    }

    private static DriftStatus Worse(DriftStatus a, DriftStatus b) => b > a ? b : a;
}
