namespace Workflows.ML.Canary;

/// <summary>One judged measurement of a check.</summary>
/// <param name="Phase">The verdict.</param>
/// <param name="Value">The value judged (for the Mann–Whitney check, the shift in ms); <see langword="null"/> without one.</param>
/// <param name="Message">Why: the value against the threshold, the sample count, or the error.</param>
public sealed record Measurement(MeasurementPhase Phase, double? Value, string Message);
