using System.Text.Json.Serialization;
using Workflows.Functions.Canary;
using Workflows.Functions.Monitoring;
using Workflows.Functions.Search;
using Workflows.Functions.Training;
using Workflows.ML.Canary;
using Workflows.ML.Data;
using Workflows.ML.Registry;

namespace Workflows.Functions.Retraining;

/// <summary>The canary of a retrained model: <see cref="CanaryPromotionInput"/> without the model and candidate, which the pipeline fills in.</summary>
/// <param name="Steps">Traffic steps; weights increase and the last is 100.</param>
/// <param name="Checks">The analysis's checks.</param>
/// <param name="AnalysisInterval">Length of each analysis window (whole seconds, at least 1).</param>
/// <param name="PostPromotionWindow">How long analysis goes on after promotion (whole seconds; zero: none).</param>
/// <param name="OnFailure"><c>rollback</c> (default) or <c>freeze</c>.</param>
/// <param name="ShadowShare">With a shadow disagreement check: the share of requests mirrored to the candidate.</param>
public sealed record RetrainingCanarySpec(
    IReadOnlyList<CanaryStepInput> Steps,
    IReadOnlyList<CanaryCheck> Checks,
    TimeSpan AnalysisInterval,
    TimeSpan PostPromotionWindow = default,
    string OnFailure = CanaryPromotionInput.Rollback,
    double ShadowShare = 0.1)
{
    /// <summary>The canary's input for <paramref name="candidate"/> of <paramref name="model"/> against the service's stable version <paramref name="stable"/>.</summary>
    public CanaryPromotionInput ToInput(string model, int candidate, int? stable) =>
        new(model, candidate, Steps, Checks, AnalysisInterval, stable, PostPromotionWindow, OnFailure, ShadowShare);
}

/// <summary>
/// Input of <see cref="RetrainingPipelineOrchestrator"/>. See docs/workflows/retraining-pipeline.md.
/// </summary>
/// <param name="Model">The model's name, in the registry and at the prediction service.</param>
/// <param name="Dataset">The newest data: statistics are computed on it and, when retraining, the model is trained on it.</param>
/// <param name="Training">EpochTraining's input; its dataset and model name may be left out (they are the pipeline's) and must otherwise be the same. Give this or <paramref name="Search"/>.</param>
/// <param name="Canary">How the retrained model is promoted.</param>
/// <param name="Drift">DriftCheck's input for the service's stable version (thresholds, staleness, samples); its model may be left out and its version must be.</param>
/// <param name="Force">Retrain whatever the drift check says.</param>
/// <param name="Search">Instead of <paramref name="Training"/>: HalvingSearch's input (mode <c>halving</c> or <c>asha</c>), whose winner is refitted on the dataset and registered; its dataset and model name may be left out and must otherwise be the pipeline's.</param>
public sealed record RetrainingPipelineInput(
    string Model,
    string Dataset,
    EpochTrainingInput? Training,
    RetrainingCanarySpec Canary,
    DriftCheckInput? Drift = null,
    bool Force = false,
    SearchInput? Search = null)
{
    /// <summary>EpochTraining's input with the pipeline's dataset and model (null when the pipeline searches).</summary>
    [JsonIgnore]
    public EpochTrainingInput? TrainingInput => Training is null ? null : Training with { Dataset = Dataset, ModelName = Model };

    /// <summary>HalvingSearch's input with the pipeline's dataset and model (null when the pipeline trains by epochs).</summary>
    [JsonIgnore]
    public SearchInput? SearchInput => Search is null ? null : Search with { Dataset = Dataset, ModelName = Model };

    /// <summary>The label column, the feature columns (null: all) and the CSV chunk size of whichever trains.</summary>
    [JsonIgnore]
    public (string LabelColumn, IReadOnlyList<string>? Features, int CsvChunkRows) Columns =>
        TrainingInput is { } training
            ? (training.LabelColumn, training.Features, training.CsvChunkRows)
            : (Search!.LabelColumn, Search.Features, Search.CsvChunkRows);

    /// <summary>DriftCheck's input for the service's stable version of the pipeline's model.</summary>
    [JsonIgnore]
    public DriftCheckInput DriftInput => (Drift ?? new DriftCheckInput(Model)) with { Model = Model, Version = null };

    /// <summary>Every problem found without looking anything up, each naming its field; empty when the input is valid.</summary>
    public IReadOnlyList<string> Validate(IDatasetStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Model))
        {
            problems.Add("model: required.");
        }
        else
        {
            Catch(problems, "model: ", () => ModelRegistration.ValidateName(Model));
        }

        if (string.IsNullOrWhiteSpace(Dataset))
        {
            problems.Add("dataset: required.");
        }

        if ((Training is null) == (Search is null))
        {
            problems.Add("training, search: give exactly one (EpochTraining's input: labelColumn, epochs, ...; or HalvingSearch's: labelColumn, learner, space, ...).");
        }
        else if (Search is not null)
        {
            if (!string.IsNullOrWhiteSpace(Search.Dataset) && Search.Dataset != Dataset)
            {
                problems.Add($"search.dataset: the pipeline searches on its dataset '{Dataset}'; leave it out or give the same, not '{Search.Dataset}'.");
            }

            if (!string.IsNullOrWhiteSpace(Search.ModelName) && Search.ModelName != Model)
            {
                problems.Add($"search.modelName: the pipeline registers '{Model}'; leave it out or give the same, not '{Search.ModelName}'.");
            }

            if (Search.Mode is not (Functions.Search.SearchInput.HalvingMode or Functions.Search.SearchInput.AshaMode))
            {
                problems.Add($"search.mode: '{Functions.Search.SearchInput.HalvingMode}' or '{Functions.Search.SearchInput.AshaMode}' (HalvingSearch), not '{Search.Mode}'.");
            }

            if (problems.Count == 0)
            {
                Catch(problems, "search: ", () => SearchInput!.Validate(SearchInput.Mode));
                Catch(problems, "search: ", () => storage.ValidatePath(Dataset, "dataset"));
            }
        }
        else if (Training is not null)
        {
            if (!string.IsNullOrWhiteSpace(Training.Dataset) && Training.Dataset != Dataset)
            {
                problems.Add($"training.dataset: the pipeline trains on its dataset '{Dataset}'; leave it out or give the same, not '{Training.Dataset}'.");
            }

            if (!string.IsNullOrWhiteSpace(Training.ModelName) && Training.ModelName != Model)
            {
                problems.Add($"training.modelName: the pipeline registers '{Model}'; leave it out or give the same, not '{Training.ModelName}'.");
            }

            if (problems.Count == 0)
            {
                Catch(problems, "training: ", () => TrainingInput!.Validate());
                Catch(problems, "training: ", () => TrainingInput!.ValidatePaths(storage));
            }
        }

        if (Drift is { Version: not null })
        {
            problems.Add("drift.version: the pipeline checks the service's stable version; leave it out.");
        }

        if (!string.IsNullOrWhiteSpace(Drift?.Model) && Drift.Model != Model)
        {
            problems.Add($"drift.model: must be the pipeline's model '{Model}' or left out, not '{Drift.Model}'.");
        }

        if (!string.IsNullOrWhiteSpace(Model))
        {
            problems.AddRange(DriftInput.Validate().Select(p => "drift." + p));
        }

        if (Canary is null)
        {
            problems.Add("canary: required (steps, checks, analysisInterval...).");
        }
        else
        {
            // The candidate is not known yet: a placeholder no stable version can be, and the version checks are left to the canary.
            problems.AddRange(Canary.ToInput(Model ?? string.Empty, int.MaxValue, null).Validate(null)
                .Where(p => !p.StartsWith("model:", StringComparison.Ordinal) && !p.StartsWith("candidateVersion:", StringComparison.Ordinal))
                .Select(p => "canary." + p));
        }

        return problems;
    }

    private static void Catch(List<string> problems, string prefix, Action check)
    {
        try
        {
            check();
        }
        catch (ArgumentException exception)
        {
            problems.Add(prefix + exception.Message);
        }
    }
}
