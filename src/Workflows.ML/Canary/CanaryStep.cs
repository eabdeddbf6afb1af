namespace Workflows.ML.Canary;

/// <summary>One step of a canary: the candidate's share of traffic, then how long to wait before analysing it.</summary>
/// <param name="Weight">Percent of traffic to the candidate, 0 to 100 (Argo's <c>setWeight</c>).</param>
/// <param name="Pause">Time at this weight before the step's analysis (Argo's <c>pause.duration</c>).</param>
public sealed record CanaryStep(int Weight, TimeSpan Pause);
