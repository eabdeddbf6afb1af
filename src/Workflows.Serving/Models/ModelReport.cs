namespace Workflows.Serving.Models;

/// <summary>What a version cost to load and how fast it scored when it loaded (timed on zero rows, after a warm-up).</summary>
/// <param name="SizeBytes">The artifact's size on disk.</param>
/// <param name="LoadMilliseconds">Reading the artifact and opening the model.</param>
/// <param name="SingleRowMicroseconds">Median of 50 single-row model calls; null when not measured.</param>
/// <param name="BatchRows">Rows of the batched measurement (the batcher's largest batch).</param>
/// <param name="BatchMicroseconds">Median of 10 model calls of <paramref name="BatchRows"/> rows; null when not measured.</param>
/// <param name="BatchRowsPerSecond">Rows per second in those calls; null when not measured.</param>
internal sealed record ModelReport(
    long SizeBytes,
    double LoadMilliseconds,
    double? SingleRowMicroseconds,
    int BatchRows,
    double? BatchMicroseconds,
    double? BatchRowsPerSecond);
