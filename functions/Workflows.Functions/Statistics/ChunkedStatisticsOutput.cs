using Workflows.ML.Statistics;

namespace Workflows.Functions.Statistics;

/// <summary>Output of <see cref="ChunkedStatisticsOrchestrator"/>.</summary>
/// <param name="Statistics">The statistics (also in the artifact).</param>
/// <param name="ArtifactPath">Where the stats artifact was written (next to the dataset).</param>
/// <param name="SecondPassColumns">
/// The columns whose histograms took a second pass over the data (no exact footer range); empty when one pass
/// sufficed or no histograms were counted.
/// </param>
public sealed record ChunkedStatisticsOutput(StatisticsReport Statistics, string ArtifactPath, IReadOnlyList<string> SecondPassColumns);
