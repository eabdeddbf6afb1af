using System.Text.Json.Serialization;
using Workflows.ML.Monitoring;

namespace Workflows.Functions.Monitoring;

/// <summary>The verdict of a drift check, from best to worst.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DriftCheckStatus>))]
public enum DriftCheckStatus
{
    /// <summary>Every feature and the prediction below the warn threshold.</summary>
    Ok,

    /// <summary>A column without enough samples (or without reference values) and none at or above the warn threshold: never a pass.</summary>
    InsufficientData,

    /// <summary>A column's PSI at or above the warn threshold, none at or above the alert threshold.</summary>
    Warn,

    /// <summary>A column's PSI at or above the alert threshold.</summary>
    Drift,
}

/// <summary>Output of <see cref="DriftCheckActivity"/>.</summary>
/// <param name="Model">The model.</param>
/// <param name="Version">The version checked.</param>
/// <param name="Status">The verdict: the worst column's.</param>
/// <param name="Features">PSI, status, sample and missing counts per feature, in input order.</param>
/// <param name="Prediction">The same for the prediction.</param>
/// <param name="WorstFeature">The feature with the highest PSI among those with a verdict, or null.</param>
/// <param name="SampleRows">Rows of the service's sample compared.</param>
/// <param name="ReferenceRows">Rows of the reference (the training holdout).</param>
/// <param name="ModelAge">Time from the reference's creation (the model's training) to the check.</param>
/// <param name="Stale">Whether the age reached the staleness limit.</param>
/// <param name="RetrainRecommended">Drift at the alert threshold, or a stale model.</param>
public sealed record DriftCheckOutput(
    string Model,
    int Version,
    DriftCheckStatus Status,
    IReadOnlyList<ColumnDrift> Features,
    ColumnDrift Prediction,
    ColumnDrift? WorstFeature,
    long SampleRows,
    long ReferenceRows,
    TimeSpan ModelAge,
    bool Stale,
    bool RetrainRecommended);
