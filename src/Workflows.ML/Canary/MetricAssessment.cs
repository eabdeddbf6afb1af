namespace Workflows.ML.Canary;

/// <summary>The state of one check over its measurements so far (an Argo Rollouts MetricResult).</summary>
/// <param name="Name">The check's name.</param>
/// <param name="Phase">Its phase.</param>
/// <param name="Successful">Successful measurements.</param>
/// <param name="Failed">Failed measurements.</param>
/// <param name="Inconclusive">Inconclusive measurements.</param>
/// <param name="Errors">Errored measurements.</param>
/// <param name="ConsecutiveErrors">Errors since the last measurement that did not error.</param>
/// <param name="Message">Why the check is in its phase.</param>
public sealed record MetricAssessment(
    string Name,
    AnalysisPhase Phase,
    int Successful,
    int Failed,
    int Inconclusive,
    int Errors,
    int ConsecutiveErrors,
    string Message);
