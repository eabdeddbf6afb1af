namespace Workflows.ML.Monitoring;

/// <summary>The drift of one feature or of the prediction.</summary>
/// <param name="Name">Feature name, or <see cref="ReferenceProfile.PredictionName"/>.</param>
/// <param name="Index">Position in the model's input; −1 for the prediction.</param>
/// <param name="Psi">Population stability index against the reference; <see langword="null"/> when <see cref="DriftStatus.Inconclusive"/>.</param>
/// <param name="Status">The verdict.</param>
/// <param name="Samples">Non-NaN values in the sample.</param>
/// <param name="Missing">NaN values in the sample.</param>
/// <param name="MissingRate">Share of NaN in the sample (NaN when it has no rows).</param>
/// <param name="ReferenceMissingRate">Share of NaN in the reference (NaN when it had no rows).</param>
public sealed record ColumnDrift(
    string Name,
    int Index,
    double? Psi,
    DriftStatus Status,
    long Samples,
    long Missing,
    double MissingRate,
    double ReferenceMissingRate);
