using Workflows.ML.Statistics;

namespace Workflows.Functions.Statistics;

/// <summary>Input of <see cref="ChunkedStatisticsOrchestrator"/>.</summary>
/// <param name="Dataset">A Parquet file, a folder of Parquet files, or CSV file(s).</param>
/// <param name="LabelColumn">Label column, whose distribution is reported; <see langword="null"/> for none.</param>
/// <param name="Columns">Feature columns to describe; <see langword="null"/> or empty for all numeric columns.</param>
/// <param name="HistogramBins">
/// Bins of the fixed-width histograms (counted in the first pass for the columns whose Parquet footer ranges are exact,
/// in a second pass for the others); 0 reports none (and, without histogram quantiles, counts none).
/// </param>
/// <param name="Quantiles">Quantiles wanted (0..1); <see langword="null"/> for the defaults, empty for none.</param>
/// <param name="ChunksPerActivity">Chunks one activity reads; fewer, larger activities cost less orchestration.</param>
/// <param name="CsvChunkRows">Rows per chunk for CSV datasets.</param>
/// <param name="SketchCapacity">Items per level of the quantile sketch (the rank error bound scales as 1/capacity).</param>
/// <param name="QuantileMethod">
/// <see cref="QuantileMethod.Histogram"/> (default): from fine histogram bins counted in the second pass, nearly free;
/// <see cref="QuantileMethod.Sketch"/>: from the first pass's compactor sketch, a rank bound for any data (outliers,
/// heavy tails) at about ten times the cost of decoding.
/// </param>
/// <param name="QuantileBins">Histogram method: at least this many fine bins per column over [min, max] (value error about range / bins).</param>
/// <param name="Chunks">
/// Chunk positions (0-based, in the dataset's chunk order) to describe, e.g. a training run's chunks without its
/// holdout; <see langword="null"/> for every chunk. The artifact then goes to its own file (see
/// <see cref="StatisticsReport.ArtifactPath"/>) and the report lists the positions.
/// </param>
public sealed record ChunkedStatisticsInput(
    string Dataset,
    string? LabelColumn = null,
    IReadOnlyList<string>? Columns = null,
    int HistogramBins = 20,
    IReadOnlyList<double>? Quantiles = null,
    int ChunksPerActivity = 1,
    int CsvChunkRows = 10_000,
    int SketchCapacity = 1024,
    QuantileMethod QuantileMethod = QuantileMethod.Histogram,
    int QuantileBins = 4096,
    IReadOnlyList<int>? Chunks = null)
{
    /// <summary>Most fine histogram bins for quantiles.</summary>
    public const int MaxQuantileBins = 65_536;

    /// <summary>Quantiles reported when none are named.</summary>
    public static IReadOnlyList<double> DefaultQuantiles { get; } = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

    /// <summary>Most histogram bins.</summary>
    public const int MaxHistogramBins = 10_000;

    /// <summary>The quantiles to compute.</summary>
    public IReadOnlyList<double> QuantilesOrDefault => Quantiles ?? DefaultQuantiles;

    /// <summary>Throws <see cref="ArgumentException"/> with a readable reason for unusable settings.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Dataset))
        {
            throw new ArgumentException("dataset is required.");
        }

        if (HistogramBins is < 0 or > MaxHistogramBins || ChunksPerActivity < 1 || CsvChunkRows < 1)
        {
            throw new ArgumentException($"need 0 <= histogramBins <= {MaxHistogramBins}, chunksPerActivity >= 1 and csvChunkRows >= 1; got {HistogramBins}, {ChunksPerActivity}, {CsvChunkRows}.");
        }

        foreach (var q in QuantilesOrDefault)
        {
            if (q is < 0 or > 1 || double.IsNaN(q))
            {
                throw new ArgumentException($"quantile {q} is not between 0 and 1.");
            }
        }

        if (QuantileBins is < 1 or > MaxQuantileBins || !Enum.IsDefined(QuantileMethod))
        {
            throw new ArgumentException($"need a quantileMethod of histogram or sketch and 1 <= quantileBins <= {MaxQuantileBins}; got {QuantileMethod}, {QuantileBins}.");
        }

        if (Chunks is not null && (Chunks.Count == 0 || Chunks.Any(static c => c < 0) || Chunks.Distinct().Count() != Chunks.Count))
        {
            throw new ArgumentException("chunks must list at least one chunk position, each 0 or more and none twice (or be null for every chunk).");
        }

        if (SketchCapacity < 8 || SketchCapacity % 2 != 0)
        {
            throw new ArgumentException($"sketchCapacity must be even and at least 8, not {SketchCapacity}.");
        }
    }
}
