namespace Workflows.ML.Monitoring;

/// <summary>The result of comparing a serving sample with a model's reference profile.</summary>
/// <param name="Status">The worst of the features' and the prediction's statuses (Stable &lt; Inconclusive &lt; Moderate &lt; Significant).</param>
/// <param name="Features">Drift per feature, in input order.</param>
/// <param name="Prediction">Drift of the prediction.</param>
/// <param name="WorstFeature">The feature with the highest PSI among those with a verdict; <see langword="null"/> when none has one.</param>
/// <param name="SampleRows">Rows in the serving sample.</param>
/// <param name="ReferenceRows">Rows in the reference.</param>
/// <param name="ModelAge">Time from the profile's creation to the check.</param>
/// <param name="IsStale">Whether <paramref name="ModelAge"/> reached the age limit of the options.</param>
public sealed record DriftReport(
    DriftStatus Status,
    IReadOnlyList<ColumnDrift> Features,
    ColumnDrift Prediction,
    ColumnDrift? WorstFeature,
    long SampleRows,
    long ReferenceRows,
    TimeSpan ModelAge,
    bool IsStale)
{
    /// <summary>Whether retraining is called for: significant drift, or a stale model.</summary>
    public bool RetrainRecommended => Status == DriftStatus.Significant || IsStale;
}
