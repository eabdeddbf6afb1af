namespace Workflows.ML.Registry;

/// <summary>Where a model came from, so a registered version can be reproduced and audited.</summary>
/// <param name="Dataset">The training dataset (path or URI).</param>
/// <param name="StatsArtifact">The statistics artifact whose mean/std standardized the features.</param>
/// <param name="Parameters">Training parameters as strings (schedule, L2, batch size, seed, epochs, K...).</param>
/// <param name="Commit">Source commit of the code that trained it; <see langword="null"/> when the build does not know it.</param>
public sealed record ModelLineage(string Dataset, string StatsArtifact, IReadOnlyDictionary<string, string> Parameters, string? Commit);
