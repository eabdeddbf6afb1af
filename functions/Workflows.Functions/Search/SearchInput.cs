using System.Globalization;
using System.Text.Json.Serialization;
using Workflows.ML.Registry;
using Workflows.ML.Search;
using Workflows.ML.Search.Halving;
using Workflows.ML.Search.Learners;
using Workflows.ML.Search.Metrics;
using Workflows.ML.Search.Space;

namespace Workflows.Functions.Search;

/// <summary>
/// Input of <see cref="HalvingSearchOrchestrator"/> and <see cref="RandomSearchOrchestrator"/>: a random
/// hyper-parameter search with scikit-learn's <c>HalvingRandomSearchCV</c> settings.
/// </summary>
/// <param name="Dataset">A Parquet or CSV file, or a folder of them, inside the data root.</param>
/// <param name="LabelColumn">The label column; its values must be class indices 0, 1, 2, …</param>
/// <param name="Learner">A learner of <see cref="LearnerCatalog"/>: <c>gradient_boosting</c> (FastTree), <c>random_forest</c> (FastForest), <c>lightgbm</c> or <c>sgd_logistic</c>.</param>
/// <param name="Space">The parameters to sample.</param>
/// <param name="Seed">Seed of the candidates, the subsamples, the folds and the learners.</param>
/// <param name="NCandidates"><c>"exhaust"</c> (halving and ASHA: <c>max_resources // min_resources</c>) or a positive integer; the random search needs an integer.</param>
/// <param name="Factor">Halving: keep 1/factor of the candidates per round and grow the resource by factor (at least 2). ASHA: the reduction factor η (a whole number).</param>
/// <param name="MinResources"><c>"smallest"</c> (<c>2 · folds · classes</c> rows for <c>n_samples</c>, else 1), <c>"exhaust"</c> (halving only) or a positive integer.</param>
/// <param name="MaxResources">The most resource a candidate gets; null means all rows for <c>n_samples</c> and is required otherwise.</param>
/// <param name="AggressiveElimination">Halving: replay the first round's resources until few enough candidates remain.</param>
/// <param name="Resource"><c>n_samples</c> (a stratified subsample), <c>n_estimators</c> (alias <c>iterations</c>: trees or boosting iterations) or <c>epochs</c> (SGD).</param>
/// <param name="Folds">Stratified cross-validation folds (scikit-learn's <c>cv</c>), at least 2.</param>
/// <param name="Metric"><c>accuracy</c>, <c>roc_auc</c> or <c>neg_log_loss</c> (higher is better).</param>
/// <param name="Mode"><c>halving</c> (successive halving, round after round) or <c>asha</c> (asynchronous successive halving).</param>
/// <param name="Parallelism">ASHA: evaluations kept in flight.</param>
/// <param name="Brackets">ASHA: Hyperband-style brackets side by side (1 is plain ASHA).</param>
/// <param name="ModelName">When given, the winner is fitted on all rows and registered under this name.</param>
/// <param name="Features">Feature columns; null or empty for every numeric column but the label.</param>
/// <param name="CsvChunkRows">Rows per chunk for CSV datasets.</param>
public sealed record SearchInput(
    string Dataset,
    string LabelColumn,
    string Learner,
    ParameterSpace Space,
    long Seed = 0,
    [property: JsonConverter(typeof(NumberOrNameConverter))] string NCandidates = HalvingOptions.Exhaust,
    double Factor = 3,
    [property: JsonConverter(typeof(NumberOrNameConverter))] string MinResources = HalvingOptions.Smallest,
    int? MaxResources = null,
    bool AggressiveElimination = false,
    string Resource = "n_samples",
    int Folds = 5,
    string Metric = "accuracy",
    string Mode = SearchInput.HalvingMode,
    int Parallelism = 4,
    int Brackets = 1,
    string? ModelName = null,
    IReadOnlyList<string>? Features = null,
    int CsvChunkRows = 10_000)
{
    /// <summary>Successive halving, round after round.</summary>
    public const string HalvingMode = "halving";

    /// <summary>Asynchronous successive halving.</summary>
    public const string AshaMode = "asha";

    /// <summary>The random search: every candidate at the most resource.</summary>
    public const string RandomMode = "random";

    /// <summary>Most ASHA evaluations in flight.</summary>
    public const int MaxParallelism = 1_000;

    /// <summary>The data every activity reads.</summary>
    [JsonIgnore]
    public SearchDataRef Data => new(Dataset, LabelColumn, Features, CsvChunkRows);

    /// <summary>The resource kind <see cref="Resource"/> names; throws <see cref="ArgumentException"/> for another name.</summary>
    [JsonIgnore]
    public ResourceKind ResourceKind => Resource switch
    {
        "n_samples" => ResourceKind.NSamples,
        "n_estimators" or "iterations" => ResourceKind.NEstimators,
        "epochs" => ResourceKind.Epochs,
        _ => throw new ArgumentException($"resource must be 'n_samples', 'n_estimators' (or 'iterations') or 'epochs' (was '{Resource}')."),
    };

    /// <summary>The metric <see cref="Metric"/> names; throws <see cref="ArgumentException"/> for another name.</summary>
    [JsonIgnore]
    public ScoringMetric ScoringMetric => Metric switch
    {
        "accuracy" => ScoringMetric.Accuracy,
        "roc_auc" => ScoringMetric.RocAuc,
        "neg_log_loss" => ScoringMetric.NegLogLoss,
        _ => throw new ArgumentException($"metric must be 'accuracy', 'roc_auc' or 'neg_log_loss' (was '{Metric}')."),
    };

    /// <summary>The successive-halving settings with the resolved maximum.</summary>
    public HalvingOptions ToHalvingOptions(int maxResources) =>
        new(maxResources, Factor, MinResources, NCandidates, AggressiveElimination, ResourceKind);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> with a readable reason for every input error that the data cannot
    /// change: missing fields, an unknown mode, learner, metric or resource, an empty or invalid space, a parameter
    /// the learner does not take (or that is the resource), too few folds, a factor below 2, min above max.
    /// <paramref name="mode"/> is the orchestration's mode (<see cref="RandomMode"/> for the random search).
    /// </summary>
    public void Validate(string mode)
    {
        Require(!string.IsNullOrWhiteSpace(Dataset) && !string.IsNullOrWhiteSpace(LabelColumn), "dataset and labelColumn are required.");
        Require(mode is HalvingMode or AshaMode or RandomMode, $"mode must be '{HalvingMode}' or '{AshaMode}' (was '{mode}').");
        Require(Folds >= 2, $"cross-validation needs at least 2 folds (was {Folds}).");
        Require(CsvChunkRows >= 1, $"csvChunkRows must be at least 1 (was {CsvChunkRows}).");
        _ = ScoringMetric;
        var kind = ResourceKind;
        Require(Space is not null, "space is required: give at least one parameter.");
        var learner = LearnerCatalog.Create(Learner);
        Space!.Validate();
        foreach (var parameter in Space.Parameters)
        {
            Require(
                learner.ParameterNames.Contains(parameter.Name, StringComparer.Ordinal),
                $"learner '{Learner}' has no parameter '{parameter.Name}'; it takes {string.Join(", ", learner.ParameterNames)}.");
        }

        Require(kind == ResourceKind.NSamples || MaxResources is not null, $"maxResources is required for resource '{Resource}' (only n_samples defaults to the row count).");
        Require(MaxResources is null or >= 1, $"maxResources must be at least 1 (was {MaxResources}).");

        // Candidate 0 at the smallest resource: an unsupported resource, a parameter that is the resource and a
        // sampled value out of the learner's range fail here, before any work.
        learner.Validate(Space.CandidateAt(Seed, 0).Parameters, new Resource(kind, MaxResources ?? 1));
        if (ModelName is not null)
        {
            ModelRegistration.ValidateName(ModelName);
        }

        switch (mode)
        {
            case RandomMode:
                Require(FixedCandidates is not null, $"nCandidates must be a positive integer for the random search (was '{NCandidates}').");
                break;
            case HalvingMode:
                var options = ToHalvingOptions(MaxResources ?? int.MaxValue);
                options.Validate();
                if (MaxResources is not null)
                {
                    // With two classes (the fewest), 'smallest' is the least it can be: min > max now is min > max for any data.
                    _ = SuccessiveHalving.Plan(options, Folds, nClasses: 2);
                }

                break;
            default:
                Require(Factor >= 2 && Factor == Math.Floor(Factor) && Factor <= 1_000, $"ASHA needs a whole factor >= 2 (was {Factor.ToString(CultureInfo.InvariantCulture)}).");
                Require(MinResources != HalvingOptions.Exhaust, "minResources 'exhaust' is a successive-halving setting; ASHA takes 'smallest' or a positive integer.");
                Require(Parallelism is >= 1 and <= MaxParallelism, $"parallelism must be between 1 and {MaxParallelism} (was {Parallelism}).");
                Require(Brackets >= 1, $"brackets must be at least 1 (was {Brackets}).");
                _ = ToHalvingOptions(MaxResources ?? int.MaxValue).FixedMinResources;
                _ = ToHalvingOptions(MaxResources ?? int.MaxValue).FixedCandidates;
                if (MaxResources is { } max && ToHalvingOptions(max).FixedMinResources is { } min)
                {
                    Require(min <= max, $"min_resources={min} is greater than max_resources={max}.");
                }

                break;
        }
    }

    /// <summary>The integer <see cref="NCandidates"/>, or null for <c>"exhaust"</c> (throws for another name).</summary>
    [JsonIgnore]
    public int? FixedCandidates => ToHalvingOptions(1).FixedCandidates;

    /// <summary>The first resource of a search on data with <paramref name="nClasses"/> classes: the integer, or <c>'smallest'</c> resolved.</summary>
    public int SmallestResource(int nClasses) =>
        ToHalvingOptions(1).FixedMinResources ?? (ResourceKind == ResourceKind.NSamples ? checked(2 * Folds * nClasses) : 1);

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
