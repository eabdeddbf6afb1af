namespace Workflows.ML.Canary;

/// <summary>The state of a whole analysis run.</summary>
/// <param name="Phase">Running until every check is done; then the worst check's phase.</param>
/// <param name="Metrics">Each check's state, in the spec's order.</param>
/// <param name="Message">The worst check and why, when the run is done and did not succeed; empty otherwise.</param>
public sealed record AnalysisRunResult(AnalysisPhase Phase, IReadOnlyList<MetricAssessment> Metrics, string Message);
