using Workflows.ML.Canary;

namespace Workflows.Functions.Canary;

/// <summary>How a canary promotion ended (<see cref="CanaryPromotionOutput.Outcome"/>).</summary>
public static class CanaryOutcome
{
    /// <summary>The candidate is the stable version and passed the analysis after promotion.</summary>
    public const string Promoted = "Promoted";

    /// <summary>The analysis failed: all traffic is back on the stable version.</summary>
    public const string RolledBack = "RolledBack";

    /// <summary>An <c>abort</c> event: all traffic is back on the stable version.</summary>
    public const string Aborted = "Aborted";

    /// <summary>The analysis failed with <c>onFailure: freeze</c>: the weights were left where they were.</summary>
    public const string Frozen = "Frozen";
}

/// <summary>Output of <see cref="CanaryPromotionOrchestrator"/>: the outcome and every step, analysis and decision.</summary>
/// <param name="Outcome">One of <see cref="CanaryOutcome"/>'s values.</param>
/// <param name="Reason">Why it ended so: the failing check and its value, the abort's reason, or the passed analysis.</param>
/// <param name="Model">The model.</param>
/// <param name="StableVersion">The version that was stable when the canary began.</param>
/// <param name="CandidateVersion">The candidate.</param>
/// <param name="StableAtEnd">The service's stable version at the end.</param>
/// <param name="CandidateWeight">The candidate's percent of traffic at the end (100 once promoted, 0 after a rollback).</param>
/// <param name="Steps">Each step reached, with its analyses.</param>
/// <param name="PostPromotion">The analyses after promotion.</param>
/// <param name="FailingChecks">The checks that were not Successful when the run ended badly (empty when promoted).</param>
/// <param name="Decisions">Every decision and event, in order.</param>
public sealed record CanaryPromotionOutput(
    string Outcome,
    string Reason,
    string Model,
    int StableVersion,
    int CandidateVersion,
    int StableAtEnd,
    int CandidateWeight,
    IReadOnlyList<CanaryStepRecord> Steps,
    IReadOnlyList<CanaryWindowAnalysis> PostPromotion,
    IReadOnlyList<CanaryFailingCheck> FailingChecks,
    IReadOnlyList<CanaryDecision> Decisions);

/// <summary>One step as it ran.</summary>
/// <param name="Index">Its index in the input's steps.</param>
/// <param name="Weight">The candidate's percent of traffic.</param>
/// <param name="Manual">Whether it waited for approval.</param>
/// <param name="Analyses">The windows analysed at this weight.</param>
public sealed record CanaryStepRecord(int Index, int Weight, bool Manual, IReadOnlyList<CanaryWindowAnalysis> Analyses);

/// <summary>One analysed window: each check's measurement, and what the run was after it.</summary>
/// <param name="From">Window start (UTC).</param>
/// <param name="To">Window end (UTC).</param>
/// <param name="Weight">The candidate's percent of traffic during it.</param>
/// <param name="Checks">Each check measured in it.</param>
/// <param name="RunPhase">The analysis run's phase after this window's measurements.</param>
/// <param name="RunMessage">Why, when the run ended without success.</param>
public sealed record CanaryWindowAnalysis(DateTime From, DateTime To, int Weight, IReadOnlyList<CanaryCheckMeasurement> Checks, AnalysisPhase RunPhase, string RunMessage);

/// <summary>One check's measurement over one window.</summary>
/// <param name="Name">The check.</param>
/// <param name="Kind">What it measures.</param>
/// <param name="Samples">Requests, labels or (Mann–Whitney) candidate latencies behind the value.</param>
/// <param name="Measurement">The verdict, the value judged and why.</param>
public sealed record CanaryCheckMeasurement(string Name, CheckKind Kind, long Samples, Measurement Measurement);

/// <summary>A check that was not Successful when the analysis ended badly.</summary>
/// <param name="Name">The check.</param>
/// <param name="Phase">Its phase.</param>
/// <param name="Value">Its last measured value, if any.</param>
/// <param name="Message">Why (the limit exceeded and the last measurement's message).</param>
public sealed record CanaryFailingCheck(string Name, AnalysisPhase Phase, double? Value, string Message);

/// <summary>A decision or an event, for the audit trail.</summary>
/// <param name="At">When (orchestration time, UTC).</param>
/// <param name="What">The kind: weight, analysis, event, hold, promote, rollback, freeze.</param>
/// <param name="Detail">What exactly.</param>
public sealed record CanaryDecision(DateTime At, string What, string Detail);

/// <summary>The custom status while a canary runs.</summary>
/// <param name="Phase">steps, holding, post-promotion or done.</param>
/// <param name="Step">The current step's index (-1 before the first).</param>
/// <param name="Weight">The candidate's percent of traffic.</param>
/// <param name="Paused">Whether a <c>pause</c> event holds the step.</param>
/// <param name="Waiting">What the canary waits for (a window's end, approval), empty when nothing.</param>
/// <param name="LastAnalysis">The last analysed window, if any.</param>
public sealed record CanaryStatus(string Phase, int Step, int Weight, bool Paused, string Waiting, CanaryWindowAnalysis? LastAnalysis);

/// <summary>The external events a canary promotion listens to; a payload, when there is one, is kept as the reason.</summary>
public static class CanaryEvents
{
    /// <summary>Ends a manual step (or skips the rest of a timed step's pause) and releases a hold on an Inconclusive analysis.</summary>
    public const string Approve = "approve";

    /// <summary>Rolls back at once, whatever the step.</summary>
    public const string Abort = "abort";

    /// <summary>Holds the current step at its weight (analysis goes on) until <see cref="Resume"/>.</summary>
    public const string Pause = "pause";

    /// <summary>Ends a <see cref="Pause"/>.</summary>
    public const string Resume = "resume";
}
