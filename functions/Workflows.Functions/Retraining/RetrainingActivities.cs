using Microsoft.Azure.Functions.Worker;
using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.ML.OnnxRuntime;
using Workflows.Functions.Canary;
using Workflows.ML.Data;
using Workflows.ML.Registry;
using Workflows.Functions.Orchestration;

namespace Workflows.Functions.Retraining;

/// <summary>What <see cref="ValidateRetrainingActivity"/> found.</summary>
/// <param name="StableVersion">The service's stable version of the model, when it serves it.</param>
/// <param name="Problems">Why the pipeline cannot run; empty when it can.</param>
public sealed record RetrainingTarget(int? StableVersion, IReadOnlyList<string> Problems);

/// <summary>
/// Checks the model against the registry and the prediction service before anything runs: it is registered, and the
/// service serves it with a stable version that is registered. Problems are returned, not thrown, so they are in the
/// history as the reason the instance failed.
/// </summary>
public sealed class ValidateRetrainingActivity(IModelRegistry registry, IServingAdmin serving) : TaskActivity<string, RetrainingTarget>
{
    /// <summary>Registered name.</summary>
    public const string Name = "RetrainingValidate";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<RetrainingTarget> RunFunctionAsync([ActivityTrigger] string input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<ValidateRetrainingActivity, string, RetrainingTarget>(Name, input, instanceId, executionContext);

    /// <inheritdoc />
    public override async Task<RetrainingTarget> RunAsync(TaskActivityContext context, string model)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        var versions = await registry.ListVersionsAsync(model, CancellationToken.None);
        if (versions.Count == 0)
        {
            return new RetrainingTarget(null, [$"model: '{model}' is not in the model registry."]);
        }

        var route = await serving.GetRouteAsync(model, CancellationToken.None);
        if (route is null)
        {
            return new RetrainingTarget(null, [$"model: the prediction service does not serve '{model}'."]);
        }

        return versions.Any(v => v.Version == route.Stable)
            ? new RetrainingTarget(route.Stable, [])
            : new RetrainingTarget(route.Stable, [$"model: the prediction service's stable version {route.Stable} of '{model}' is not in the registry."]);
    }
}

/// <summary>Input of <see cref="CompareWithStableActivity"/>.</summary>
/// <param name="Model">The model.</param>
/// <param name="StableVersion">The stable version.</param>
/// <param name="CandidateVersion">The retrained candidate.</param>
/// <param name="HoldoutDataset">The candidate's holdout: a holdout dataset, or the dataset some of whose chunks were held out.</param>
/// <param name="HoldoutChunks">The held-out chunks of <paramref name="HoldoutDataset"/>; null: all of it.</param>
/// <param name="LabelColumn">The label column.</param>
/// <param name="CsvChunkRows">Rows per chunk of a CSV holdout, as training chunked it (the held-out chunk indices depend on it).</param>
public sealed record CompareWithStableInput(
    string Model,
    int StableVersion,
    int CandidateVersion,
    string? HoldoutDataset = null,
    IReadOnlyList<int>? HoldoutChunks = null,
    string? LabelColumn = null,
    int CsvChunkRows = DatasetSpec.DefaultCsvChunkRows);

/// <summary>
/// Compares the candidate with the stable version on the same rows. When the input names the candidate's holdout and
/// both versions are ONNX models over the same feature columns (their lineages' <c>featureColumns</c>), both are
/// scored on that holdout here (<see cref="HoldoutScorer"/>) and the candidate is worse when its log loss is higher.
/// Otherwise the registry's holdout metrics (EpochTraining registers its best epoch's holdout accuracy and log loss)
/// are compared, and only when the lineages name the same holdout (the same holdout dataset, or the same chunks of the
/// same dataset); else they were scored on different rows and the comparison says so, deciding nothing.
/// </summary>
public sealed class CompareWithStableActivity(IModelRegistry registry, DatasetReader reader) : TaskActivity<CompareWithStableInput, ModelComparison>
{
    /// <summary>Registered name.</summary>
    public const string Name = "RetrainingCompareWithStable";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<ModelComparison> RunFunctionAsync([ActivityTrigger] CompareWithStableInput input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<CompareWithStableActivity, CompareWithStableInput, ModelComparison>(Name, input, instanceId, executionContext);

    /// <inheritdoc />
    public override async Task<ModelComparison> RunAsync(TaskActivityContext context, CompareWithStableInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var stable = await registry.GetAsync(input.Model, input.StableVersion, CancellationToken.None)
            ?? throw new InvalidOperationException($"model '{input.Model}' has no version {input.StableVersion} in the registry.");
        var candidate = await registry.GetAsync(input.Model, input.CandidateVersion, CancellationToken.None)
            ?? throw new InvalidOperationException($"model '{input.Model}' has no version {input.CandidateVersion} in the registry.");
        var (rescored, why) = await RescoreAsync(input, stable, candidate);
        if (rescored is not null)
        {
            return rescored;
        }

        double? Metric(RegisteredModel model, string name) => model.Metrics.TryGetValue(name, out var value) ? value : null;
        var (stableLoss, candidateLoss) = (Metric(stable, "logLoss"), Metric(candidate, "logLoss"));
        var same = SameHoldout(stable.Lineage, candidate.Lineage);
        var worse = same && stableLoss is { } s && candidateLoss is { } c && c > s;
        var detail = why + (!same
            ? $"not compared: version {input.CandidateVersion} was scored on holdout '{Holdout(candidate.Lineage)}', version {input.StableVersion} on '{Holdout(stable.Lineage)}'; the canary judges the candidate on live traffic."
            : stableLoss is null || candidateLoss is null
                ? $"not compared: a version has no registered holdout log loss (stable {Text(stableLoss)}, candidate {Text(candidateLoss)})."
                : $"same holdout '{Holdout(candidate.Lineage)}': log loss {Text(candidateLoss)} (candidate) against {Text(stableLoss)} (stable){(worse ? ", worse" : ", not worse")}.");
        return new ModelComparison(
            input.StableVersion, input.CandidateVersion, stableLoss, candidateLoss, Metric(stable, "accuracy"), Metric(candidate, "accuracy"), same, worse, detail);
    }

    /// <summary>Both versions scored on the candidate's holdout, or why they could not be (a sentence that leads the detail).</summary>
    private async Task<(ModelComparison? Comparison, string Why)> RescoreAsync(CompareWithStableInput input, RegisteredModel stable, RegisteredModel candidate)
    {
        if (input.HoldoutDataset is not { } dataset || input.LabelColumn is not { } label)
        {
            return (null, string.Empty);
        }

        var features = Parameter(candidate.Lineage, "featureColumns");
        var stableFeatures = Parameter(stable.Lineage, "featureColumns");
        string? reason = stable.Format != "onnx" || candidate.Format != "onnx"
            ? $"not both ONNX models ({stable.Format}, {candidate.Format})"
            : stableFeatures is null || features is null
                ? "a lineage names no feature columns"
                : stableFeatures != features
                    ? $"their feature columns differ ([{stableFeatures}] against [{features}])"
                    : TrainedOnTheHoldout(stable.Lineage, dataset, input.HoldoutChunks)
                        ? $"the stable version was trained on '{dataset}' too, not on the same held-out chunks, so some of these rows were its training rows"
                        : null;
        if (reason is not null)
        {
            return (null, $"not re-scored on the candidate's holdout ({reason}); ");
        }

        IReadOnlyList<HoldoutScore> scores;
        try
        {
            var artifacts = new[]
            {
                await registry.ReadArtifactAsync(input.Model, input.StableVersion, CancellationToken.None),
                await registry.ReadArtifactAsync(input.Model, input.CandidateVersion, CancellationToken.None),
            };
            scores = await new HoldoutScorer(reader).ScoreAsync(
                new DatasetSpec(dataset, label, input.CsvChunkRows), input.HoldoutChunks, features!.Split(','), artifacts, CancellationToken.None);
        }
        catch (Exception exception) when (exception is OnnxRuntimeException or DatasetException or InvalidOperationException or ArgumentException or IOException)
        {
            // A model ONNX Runtime cannot load, a holdout that cannot be read: the registry's figures decide instead.
            return (null, $"not re-scored on the candidate's holdout ({exception.Message}); ");
        }

        var (s, c) = (scores[0], scores[1]);
        var worse = c.LogLoss > s.LogLoss;
        var holdout = input.HoldoutChunks is { } chunks ? $"chunks {string.Join(',', chunks)} of {dataset}" : dataset;
        var detail = string.Create(
            CultureInfo.InvariantCulture,
            $"both re-scored on the candidate's holdout ({holdout}, {c.Rows} rows): log loss {Text(c.LogLoss)} (candidate) against {Text(s.LogLoss)} (stable), accuracy {Text(c.Accuracy)} against {Text(s.Accuracy)}{(worse ? ", worse" : ", not worse")}.");
        return (new ModelComparison(
            input.StableVersion, input.CandidateVersion, s.LogLoss, c.LogLoss, s.Accuracy, c.Accuracy, SameHoldout: true, worse, detail, Rescored: true, HoldoutRows: c.Rows), string.Empty);
    }

    /// <summary>
    /// Whether the stable version was trained on <paramref name="dataset"/> with other chunks held out than
    /// <paramref name="holdoutChunks"/> (or with none held out): then some of the candidate's holdout rows were its
    /// training rows, and scoring it there would favour it.
    /// </summary>
    private static bool TrainedOnTheHoldout(ModelLineage stable, string dataset, IReadOnlyList<int>? holdoutChunks) =>
        stable.Dataset == dataset
        && (holdoutChunks is null || Parameter(stable, "holdoutChunks") != string.Join(',', holdoutChunks.Select(c => c.ToString(CultureInfo.InvariantCulture))));

    private static bool SameHoldout(ModelLineage stable, ModelLineage candidate)
    {
        var holdout = Parameter(stable, "holdout");
        var chunks = Parameter(stable, "holdoutChunks");
        return holdout is not null
            && holdout == Parameter(candidate, "holdout")
            && chunks == Parameter(candidate, "holdoutChunks")
            && (chunks is null || stable.Dataset == candidate.Dataset);
    }

    private static string? Parameter(ModelLineage lineage, string name) =>
        lineage.Parameters is { } parameters && parameters.TryGetValue(name, out var value) ? value : null;

    private static string Holdout(ModelLineage lineage) =>
        Parameter(lineage, "holdoutChunks") is { } chunks ? $"chunks {chunks} of {lineage.Dataset}" : Parameter(lineage, "holdout") ?? "unknown";

    private static string Text(double? value) => value?.ToString("0.######", CultureInfo.InvariantCulture) ?? "none";
}
