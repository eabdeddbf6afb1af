namespace Workflows.Functions.Training;

/// <summary>Input of <see cref="PrepareTrainingActivity"/>.</summary>
/// <param name="Training">The orchestration's input.</param>
/// <param name="StatsArtifact">The stats artifact to standardize with (given, or written by ChunkedStatistics).</param>
/// <param name="RunId">Names this run's folder of checkpoints (from the orchestration's replay-safe NewGuid).</param>
public sealed record PrepareTrainingInput(EpochTrainingInput Training, string StatsArtifact, string RunId);
