using Microsoft.Azure.Functions.Worker;
using System.Globalization;
using Microsoft.DurableTask;
using Workflows.Functions.Canary;
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
public sealed record CompareWithStableInput(string Model, int StableVersion, int CandidateVersion);

/// <summary>
/// Compares the candidate with the stable version on the holdout metrics the registry holds for each (EpochTraining
/// registers its best epoch's holdout accuracy and log loss). The figures are compared only when the lineages name the
/// same holdout (the same holdout dataset, or the same chunks of the same dataset); otherwise they were scored on
/// different rows and the comparison says so, deciding nothing.
/// </summary>
public sealed class CompareWithStableActivity(IModelRegistry registry) : TaskActivity<CompareWithStableInput, ModelComparison>
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
        double? Metric(RegisteredModel model, string name) => model.Metrics.TryGetValue(name, out var value) ? value : null;
        var (stableLoss, candidateLoss) = (Metric(stable, "logLoss"), Metric(candidate, "logLoss"));
        var same = SameHoldout(stable.Lineage, candidate.Lineage);
        var worse = same && stableLoss is { } s && candidateLoss is { } c && c > s;
        var detail = !same
            ? $"not compared: version {input.CandidateVersion} was scored on holdout '{Holdout(candidate.Lineage)}', version {input.StableVersion} on '{Holdout(stable.Lineage)}'; the canary judges the candidate on live traffic."
            : stableLoss is null || candidateLoss is null
                ? $"not compared: a version has no registered holdout log loss (stable {Text(stableLoss)}, candidate {Text(candidateLoss)})."
                : $"same holdout '{Holdout(candidate.Lineage)}': log loss {Text(candidateLoss)} (candidate) against {Text(stableLoss)} (stable){(worse ? ", worse" : ", not worse")}.";
        return new ModelComparison(
            input.StableVersion, input.CandidateVersion, stableLoss, candidateLoss, Metric(stable, "accuracy"), Metric(candidate, "accuracy"), same, worse, detail);
    }

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
