using System.Text.Json.Serialization;
using Workflows.ML.Data;
using Workflows.ML.Registry;
using Workflows.ML.Training;

namespace Workflows.Functions.Training;

/// <summary>Input of <see cref="EpochTrainingOrchestrator"/>: logistic regression by mini-batch SGD, epoch after epoch over a chunked dataset.</summary>
/// <param name="Dataset">Training data: a Parquet file, a folder of Parquet files, or CSV file(s).</param>
/// <param name="LabelColumn">Label column; its values must be class indices 0..C-1.</param>
/// <param name="ModelName">Name the model is registered under (letters, digits, '.', '_', '-').</param>
/// <param name="Holdout">A holdout dataset with the same feature and label columns; <see langword="null"/> holds out
/// chunks of <paramref name="Dataset"/> instead (see <paramref name="HoldoutFraction"/>).</param>
/// <param name="HoldoutFraction">Without <paramref name="Holdout"/>: the fraction of the dataset's chunks held out,
/// round(fraction × chunks) of them (at least one, and at least one left to train on), chosen by
/// <paramref name="Seed"/> (see <see cref="HoldoutSplit"/>).</param>
/// <param name="Features">Feature columns; <see langword="null"/> or empty for every numeric column but the label.</param>
/// <param name="Epochs">Most epochs to train (early stopping may end sooner).</param>
/// <param name="Schedule">Learning-rate schedule: Constant, InverseScaling or Optimal.</param>
/// <param name="LearningRate">Initial step size eta0.</param>
/// <param name="PowerT">Exponent of the InverseScaling schedule.</param>
/// <param name="L2">L2 strength alpha.</param>
/// <param name="BatchSize">Rows per SGD step.</param>
/// <param name="Seed">Seed of the chunk and row shuffles and, on a stream of its own, of the holdout chunks.</param>
/// <param name="Patience">Stop after this many epochs without a lower holdout log loss; 0 never stops early.</param>
/// <param name="Parallelism">K: data-parallel activities per epoch, merged by weighted model averaging.</param>
/// <param name="StatsArtifact">Stats artifact with the features' mean and std and the label distribution;
/// <see langword="null"/> runs ChunkedStatistics first.</param>
/// <param name="CsvChunkRows">Rows per chunk for CSV datasets.</param>
public sealed record EpochTrainingInput(
    string Dataset,
    string LabelColumn,
    string ModelName,
    string? Holdout = null,
    double HoldoutFraction = 0.2,
    IReadOnlyList<string>? Features = null,
    int Epochs = 5,
    [property: JsonConverter(typeof(JsonStringEnumConverter<LearningRateSchedule>))] LearningRateSchedule Schedule = LearningRateSchedule.InverseScaling,
    float LearningRate = 0.1f,
    float PowerT = 0.5f,
    float L2 = 1e-4f,
    int BatchSize = 32,
    long Seed = 0,
    int Patience = 0,
    int Parallelism = 1,
    string? StatsArtifact = null,
    int CsvChunkRows = 10_000)
{
    /// <summary>Most data-parallel activities per epoch.</summary>
    public const int MaxParallelism = 1_000;

    /// <summary>The trainer's hyper-parameters once the feature and class counts are known.</summary>
    public TrainingOptions ToOptions(int featureCount, int classCount) =>
        new(featureCount, classCount, Schedule, LearningRate, PowerT, L2, BatchSize, unchecked((ulong)Seed));

    /// <summary>
    /// Throws <see cref="DataPathException"/> when a path of the input (dataset, holdout, stats artifact) is one that
    /// <paramref name="storage"/> may not reach, before any work starts.
    /// </summary>
    public void ValidatePaths(IDatasetStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        storage.ValidatePath(Dataset, "dataset");
        if (Holdout is not null)
        {
            storage.ValidatePath(Holdout, "holdout");
        }

        if (StatsArtifact is not null)
        {
            storage.ValidatePath(StatsArtifact, "statsArtifact");
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> with a readable reason for unusable settings, before any work starts.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Dataset) || string.IsNullOrWhiteSpace(LabelColumn) || string.IsNullOrWhiteSpace(ModelName))
        {
            throw new ArgumentException("dataset, labelColumn and modelName are required.");
        }

        // The model name names folders (checkpoints, the registry): checked before anything is written.
        ModelRegistration.ValidateName(ModelName);

        if (Epochs < 1)
        {
            throw new ArgumentException($"epochs must be at least 1, not {Epochs}.");
        }

        if (Parallelism is < 1 or > MaxParallelism)
        {
            throw new ArgumentException($"parallelism (K) must be between 1 and {MaxParallelism}, not {Parallelism}.");
        }

        if (Patience < 0 || CsvChunkRows < 1)
        {
            throw new ArgumentException($"need patience >= 0 and csvChunkRows >= 1; got {Patience} and {CsvChunkRows}.");
        }

        if (Holdout is null && !(HoldoutFraction > 0 && HoldoutFraction < 1))
        {
            throw new ArgumentException($"holdoutFraction must be between 0 and 1 (exclusive) when no holdout dataset is given, not {HoldoutFraction}.");
        }

        // The hyper-parameters are checked now with placeholder shapes, so a bad learning rate fails in seconds.
        ToOptions(featureCount: 1, classCount: 2).Validate();
    }

    /// <summary>The parameters as lineage strings of the registered model.</summary>
    /// <param name="holdout">How the holdout was chosen (a dataset, or a fraction of chunks).</param>
    /// <param name="holdoutChunks">The held-out chunk indices of the dataset, or <see langword="null"/> for a holdout dataset.</param>
    public IReadOnlyDictionary<string, string> ToLineageParameters(string holdout, IReadOnlyList<int>? holdoutChunks)
    {
        var parameters = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["labelColumn"] = LabelColumn,
            ["features"] = Features is { Count: > 0 } ? string.Join(',', Features) : "all",
            ["holdout"] = holdout,
            ["epochs"] = Invariant(Epochs),
            ["schedule"] = Schedule.ToString(),
            ["learningRate"] = Invariant(LearningRate),
            ["powerT"] = Invariant(PowerT),
            ["l2"] = Invariant(L2),
            ["batchSize"] = Invariant(BatchSize),
            ["seed"] = Invariant(Seed),
            ["patience"] = Invariant(Patience),
            ["parallelism"] = Invariant(Parallelism),
        };
        if (holdoutChunks is not null)
        {
            parameters["holdoutChunks"] = string.Join(',', holdoutChunks.Select(Invariant));
        }

        return parameters;
    }

    private static string Invariant<T>(T value)
        where T : IFormattable => value.ToString(null, System.Globalization.CultureInfo.InvariantCulture);
}
