namespace Workflows.ML.Statistics;

/// <summary>An approximate quantile.</summary>
/// <param name="Q">The quantile asked for, between 0 and 1.</param>
/// <param name="Value">The estimate.</param>
public sealed record QuantileValue(double Q, double Value);
