using System.Globalization;
using Workflows.ML.Data;
using Workflows.ML.Statistics;
using Workflows.ML.Training;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Training;

/// <summary>
/// Checks everything about the data once, before any epoch: the label and feature columns exist, the holdout has
/// the same columns, the stats artifact covers every feature and shows at least two integer classes. Chooses the
/// holdout chunks (see <see cref="HoldoutSplit"/>) and names the run folder. Fails with a <see cref="DatasetException"/> or
/// <see cref="TrainingDataException"/> whose message says what is wrong.
/// </summary>
public sealed class PrepareTrainingActivity(IDatasetStorage storage, DatasetReader reader)
{
    /// <summary>Registered name.</summary>
    public const string Name = "PrepareTraining";

    /// <summary>Folder, inside a dataset folder, of the training runs' checkpoints (readers list only .parquet/.csv files).</summary>
    public const string ModelsFolderName = "_models";

    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token.</summary>
    [Function(Name)]
    public async Task<TrainingPlan> RunAsync([ActivityTrigger] PrepareTrainingInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var training = input.Training;
        var dataset = await reader.DescribeAsync(new DatasetSpec(training.Dataset, training.LabelColumn, training.CsvChunkRows), context.CancellationToken);
        var features = DatasetReader.ResolveColumns(dataset, training.Features);
        if (features.Count == 0)
        {
            throw new DatasetException($"dataset '{training.Dataset}' has no numeric feature columns.");
        }

        DatasetDescription train;
        DatasetDescription holdout;
        IReadOnlyList<int>? holdoutChunks = null;
        var holdoutFeatures = features;
        if (training.Holdout is null)
        {
            // A seeded choice of chunks, not the last ones: a dataset sorted by some column or appended over time
            // would otherwise be evaluated on its newest or highest rows only. Chunks are the unit (no row-level
            // stratification); a holdout that misses a class the training chunks have fails in EvaluateHoldout.
            var chunks = dataset.Chunks;
            if (chunks.Count < 2)
            {
                throw new DatasetException($"dataset '{training.Dataset}' has {chunks.Count} chunk; holding out a fraction of chunks needs at least 2 (or give a holdout dataset).");
            }

            var held = HoldoutSplit.Choose(unchecked((ulong)training.Seed), chunks.Count, training.HoldoutFraction);
            holdout = dataset with { Chunks = held.Select(position => chunks[position]).ToList() };
            train = dataset with { Chunks = HoldoutSplit.Complement(chunks.Count, held).Select(position => chunks[position]).ToList() };
            holdoutChunks = holdout.Chunks.Select(chunk => chunk.Index).ToList();
        }
        else
        {
            train = dataset;
            holdout = await reader.DescribeAsync(new DatasetSpec(training.Holdout, training.LabelColumn, training.CsvChunkRows), context.CancellationToken);
            holdoutFeatures = MatchColumns(holdout, features);
        }

        var statistics = StatisticsReport.FromArtifactJson(await TrainingStorage.ReadAllAsync(storage, input.StatsArtifact, context.CancellationToken));
        _ = TrainingStorage.Standardization(statistics, input.StatsArtifact, features);
        var classCount = ClassCount(statistics, training.LabelColumn, input.StatsArtifact);
        var root = training.Dataset;
        var models = root.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) || root.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)
            ? root + "." + ModelsFolderName
            : storage.Combine(root, ModelsFolderName);
        var runFolder = storage.Combine(storage.Combine(models, training.ModelName), input.RunId);
        return new TrainingPlan(train, holdout, features, holdoutFeatures, classCount, input.StatsArtifact, runFolder, holdoutChunks);
    }

    /// <summary>
    /// The holdout's own columns for the training features, in model order: matched by name, each read with the
    /// holdout file's type (a float64 holdout of a float32 training set is fine; a missing column is not).
    /// </summary>
    private static List<DatasetColumn> MatchColumns(DatasetDescription holdout, IReadOnlyList<DatasetColumn> features)
    {
        var matched = new List<DatasetColumn>(features.Count);
        foreach (var feature in features)
        {
            var match = holdout.Columns.FirstOrDefault(c => string.Equals(c.Name, feature.Name, StringComparison.Ordinal))
                ?? throw new DatasetException($"holdout '{holdout.Root}' does not match the training schema: it has no numeric column '{feature.Name}'.");
            matched.Add(match);
        }

        return matched;
    }

    /// <summary>
    /// Classes from the label distribution of the stats artifact: labels must be integers 0..C-1 and at least two
    /// of them must occur, or logistic regression has nothing to separate.
    /// </summary>
    private static int ClassCount(StatisticsReport statistics, string labelColumn, string artifact)
    {
        if (statistics.LabelDistribution.Count == 0)
        {
            throw new TrainingDataException($"stats artifact '{artifact}' has no label distribution; run ChunkedStatistics with labelColumn '{labelColumn}'.");
        }

        var max = -1;
        var present = 0;
        foreach (var (value, rows) in statistics.LabelDistribution)
        {
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var label))
            {
                throw new TrainingDataException($"label column '{labelColumn}' has the value '{value}' ({rows} rows); labels must be class indices 0, 1, 2...");
            }

            max = Math.Max(max, label);
            present += rows > 0 ? 1 : 0;
        }

        if (present < 2)
        {
            throw new TrainingDataException($"the training data has a single class: every row of label column '{labelColumn}' is {statistics.LabelDistribution.Keys.First()}. Logistic regression needs at least two classes.");
        }

        return Math.Max(max + 1, 2);
    }
}
