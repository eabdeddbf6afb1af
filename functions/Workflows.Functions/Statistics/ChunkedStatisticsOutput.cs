using Workflows.ML.Statistics;

namespace Workflows.Functions.Statistics;

/// <summary>Output of <see cref="ChunkedStatisticsOrchestrator"/>.</summary>
/// <param name="Statistics">The statistics (also in the artifact).</param>
/// <param name="ArtifactPath">Where the stats artifact was written (next to the dataset).</param>
public sealed record ChunkedStatisticsOutput(StatisticsReport Statistics, string ArtifactPath);
