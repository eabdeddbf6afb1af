using Workflows.ML.Monitoring;
using Workflows.Functions.Canary;
using Workflows.Functions.Monitoring;

namespace Workflows.Functions.Retraining;

/// <summary>How a retraining pipeline ended (<see cref="RetrainingPipelineOutput.Outcome"/>), besides the canary's own outcomes (<see cref="CanaryOutcome"/>).</summary>
public static class RetrainingOutcome
{
    /// <summary>The drift check did not warrant retraining (no drift and a fresh model, moderate drift, or too few samples) and it was not forced.</summary>
    public const string NotRetrained = "NotRetrained";

    /// <summary>The retrained model scored worse than the stable one on the same holdout: registered, never canaried.</summary>
    public const string CandidateWorse = "CandidateWorse";
}

/// <summary>The drift check's verdict in short, with each feature's PSI.</summary>
/// <param name="Version">The stable version checked.</param>
/// <param name="Status">Its verdict.</param>
/// <param name="WorstFeature">The feature with the highest PSI, if any had a verdict.</param>
/// <param name="WorstFeaturePsi">Its PSI.</param>
/// <param name="PredictionPsi">The prediction's PSI, if it had a verdict.</param>
/// <param name="SampleRows">Rows of the service's sample compared.</param>
/// <param name="ModelAge">The stable version's age.</param>
/// <param name="Stale">Whether the age reached the staleness limit.</param>
/// <param name="RetrainRecommended">Drift at the alert threshold, or a stale model.</param>
/// <param name="Features">Each feature's PSI and verdict, in the model's input order.</param>
/// <param name="WarnThreshold">The PSI from which a column drifted moderately.</param>
/// <param name="AlertThreshold">The PSI from which a column drifted significantly.</param>
public sealed record DriftSummary(
    int Version,
    DriftCheckStatus Status,
    string? WorstFeature,
    double? WorstFeaturePsi,
    double? PredictionPsi,
    long SampleRows,
    TimeSpan ModelAge,
    bool Stale,
    bool RetrainRecommended,
    IReadOnlyList<FeatureDrift> Features,
    double WarnThreshold,
    double AlertThreshold)
{
    /// <summary>The summary of <paramref name="report"/>, checked with <paramref name="input"/>'s thresholds.</summary>
    public static DriftSummary Of(DriftCheckOutput report, DriftCheckInput input)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(input);
        return new(
            report.Version,
            report.Status,
            report.WorstFeature?.Name,
            report.WorstFeature?.Psi,
            report.Prediction?.Psi,
            report.SampleRows,
            report.ModelAge,
            report.Stale,
            report.RetrainRecommended,
            [.. report.Features.Select(static f => new FeatureDrift(f.Name, f.Psi, f.Status, f.Samples))],
            input.WarnThreshold,
            input.AlertThreshold);
    }
}

/// <summary>One feature's drift in <see cref="DriftSummary"/>.</summary>
/// <param name="Name">The feature.</param>
/// <param name="Psi">Its PSI against the reference; null when the verdict is Inconclusive.</param>
/// <param name="Status">Its verdict.</param>
/// <param name="Samples">Its non-missing values in the sample.</param>
public sealed record FeatureDrift(string Name, double? Psi, DriftStatus Status, long Samples);

/// <summary>The retrained candidate against the stable version: both re-scored on the candidate's holdout, else the registry's holdout metrics of each.</summary>
/// <param name="StableVersion">The stable version.</param>
/// <param name="CandidateVersion">The candidate.</param>
/// <param name="StableLogLoss">The stable version's registered holdout log loss, if it has one.</param>
/// <param name="CandidateLogLoss">The candidate's.</param>
/// <param name="StableAccuracy">The stable version's registered holdout accuracy, if it has one.</param>
/// <param name="CandidateAccuracy">The candidate's.</param>
/// <param name="SameHoldout">Whether both figures are on the same rows (re-scored, or the same holdout in both lineages); only then are they compared.</param>
/// <param name="CandidateWorse">Whether, on the same holdout, the candidate's log loss is higher.</param>
/// <param name="Detail">What was compared, in words.</param>
/// <param name="Rescored">Whether both versions were scored on the candidate's holdout by the comparison (the figures are then those, not the registry's).</param>
/// <param name="HoldoutRows">The rows re-scored.</param>
public sealed record ModelComparison(
    int StableVersion,
    int CandidateVersion,
    double? StableLogLoss,
    double? CandidateLogLoss,
    double? StableAccuracy,
    double? CandidateAccuracy,
    bool SameHoldout,
    bool CandidateWorse,
    string Detail,
    bool Rescored = false,
    long? HoldoutRows = null);

/// <summary>A decision of the pipeline, for the audit trail.</summary>
/// <param name="At">When (orchestration time, UTC).</param>
/// <param name="Stage">statistics, drift, decide, train, compare, canary or end.</param>
/// <param name="Detail">What and why.</param>
public sealed record RetrainingDecision(DateTime At, string Stage, string Detail);

/// <summary>Output of <see cref="RetrainingPipelineOrchestrator"/>: every decision with its reason.</summary>
/// <param name="Model">The model.</param>
/// <param name="Outcome">One of <see cref="RetrainingOutcome"/>'s values, or the canary's outcome (<see cref="CanaryOutcome"/>).</param>
/// <param name="Reason">Why it ended so.</param>
/// <param name="StableVersion">The service's stable version when the pipeline began.</param>
/// <param name="DatasetRows">Rows of the newest data (its statistics).</param>
/// <param name="StatisticsArtifact">The newest data's statistics artifact.</param>
/// <param name="Drift">The drift check's verdict.</param>
/// <param name="Retrained">Whether a model was trained.</param>
/// <param name="RetrainReason">Why it was, or was not.</param>
/// <param name="CandidateVersion">The registered retrained version, if any.</param>
/// <param name="Comparison">The candidate against the stable version, if retrained.</param>
/// <param name="CanaryOutcome">The canary's outcome, if it ran.</param>
/// <param name="StableAtEnd">The service's stable version at the end.</param>
/// <param name="Decisions">Every decision, in order.</param>
public sealed record RetrainingPipelineOutput(
    string Model,
    string Outcome,
    string Reason,
    int StableVersion,
    long DatasetRows,
    string StatisticsArtifact,
    DriftSummary Drift,
    bool Retrained,
    string RetrainReason,
    int? CandidateVersion,
    ModelComparison? Comparison,
    string? CanaryOutcome,
    int StableAtEnd,
    IReadOnlyList<RetrainingDecision> Decisions);

/// <summary>The custom status while the pipeline runs.</summary>
/// <param name="Stage">validating, statistics, drift, training, comparing, canary or done.</param>
/// <param name="Detail">The last decision, if any.</param>
public sealed record RetrainingStatus(string Stage, string Detail);
