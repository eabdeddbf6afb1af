using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Workflows.ML.Registry;
using Workflows.Functions.Orchestration;

namespace Workflows.Functions.Canary;

/// <summary>Input of <see cref="ValidateCanaryActivity"/>.</summary>
/// <param name="Model">The model.</param>
/// <param name="CandidateVersion">The candidate.</param>
/// <param name="StableVersion">The stable version the input names, if it names one.</param>
public sealed record ValidateCanaryInput(string Model, int CandidateVersion, int? StableVersion);

/// <summary>What <see cref="ValidateCanaryActivity"/> found.</summary>
/// <param name="StableVersion">The stable version (the service's), when the service serves the model.</param>
/// <param name="Problems">Why the canary cannot run; empty when it can.</param>
public sealed record CanaryTarget(int? StableVersion, IReadOnlyList<string> Problems);

/// <summary>
/// Checks what the input names against the registry and the prediction service, before any traffic moves: the model
/// and both versions are registered, the service serves the model with the candidate loaded (a registered candidate it
/// has not loaded yet is loaded by having the service scan its registry), and the stable version is
/// the service's (the input's, when it names one, must be that one). Problems are returned, not thrown, so they are
/// in the history as the reason the instance failed.
/// </summary>
public sealed class ValidateCanaryActivity(IModelRegistry registry, IServingAdmin serving) : TaskActivity<ValidateCanaryInput, CanaryTarget>
{
    /// <summary>Registered name.</summary>
    public const string Name = "CanaryValidate";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<CanaryTarget> RunFunctionAsync([ActivityTrigger] ValidateCanaryInput input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<ValidateCanaryActivity, ValidateCanaryInput, CanaryTarget>(Name, input, instanceId, executionContext);

    /// <inheritdoc />
    public override async Task<CanaryTarget> RunAsync(TaskActivityContext context, ValidateCanaryInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var problems = new List<string>();
        var versions = await registry.ListVersionsAsync(input.Model, CancellationToken.None);
        if (versions.Count == 0)
        {
            return new CanaryTarget(null, [$"model: '{input.Model}' is not in the model registry."]);
        }

        if (!versions.Any(v => v.Version == input.CandidateVersion))
        {
            problems.Add($"candidateVersion: model '{input.Model}' has no version {input.CandidateVersion} in the registry (it has {string.Join(", ", versions.Select(v => v.Version))}).");
        }

        var route = await serving.GetRouteAsync(input.Model, CancellationToken.None);
        if (route is not null && !route.LoadedVersions.Contains(input.CandidateVersion) && versions.Any(v => v.Version == input.CandidateVersion))
        {
            // Registered since the service's last scan (a version just trained): have it scanned now rather than wait for its poll.
            await serving.RefreshAsync(CancellationToken.None);
            route = await serving.GetRouteAsync(input.Model, CancellationToken.None);
        }

        if (route is null)
        {
            problems.Add($"model: the prediction service does not serve '{input.Model}'.");
            return new CanaryTarget(null, problems);
        }

        if (input.StableVersion is { } named && named != route.Stable)
        {
            problems.Add($"stableVersion: the prediction service's stable version of '{input.Model}' is {route.Stable}, not {named}.");
        }

        if (!versions.Any(v => v.Version == route.Stable))
        {
            problems.Add($"stableVersion: the stable version {route.Stable} is not in the registry.");
        }

        if (problems.Count == 0 && input.CandidateVersion != route.Stable && !route.LoadedVersions.Contains(input.CandidateVersion))
        {
            problems.Add($"candidateVersion: the prediction service has not loaded version {input.CandidateVersion} of '{input.Model}' (loaded: {string.Join(", ", route.LoadedVersions)}); it may have failed to load or not been scanned yet.");
        }

        return new CanaryTarget(route.Stable, problems);
    }
}

/// <summary>Input of <see cref="SetCanaryWeightActivity"/>.</summary>
/// <param name="Model">The model.</param>
/// <param name="CandidateVersion">The candidate.</param>
/// <param name="Weight">Percent of traffic, 0 to 100.</param>
/// <param name="ShadowShare">When set, the candidate also shadows this share of the requests (those the stable version answers are compared); otherwise a shadow other than the candidate is kept and the candidate's is taken off.</param>
public sealed record CanaryWeightInput(string Model, int CandidateVersion, int Weight, double? ShadowShare = null);

/// <summary>
/// Routes <see cref="CanaryWeightInput.Weight"/> percent of the model's request keys to the candidate, with the shadow
/// as <see cref="CanaryWeightInput.ShadowShare"/> says; setting the same again changes nothing.
/// </summary>
public sealed class SetCanaryWeightActivity(IServingAdmin serving) : TaskActivity<CanaryWeightInput, ServingRoute>
{
    /// <summary>Registered name.</summary>
    public const string Name = "CanarySetWeight";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<ServingRoute> RunFunctionAsync([ActivityTrigger] CanaryWeightInput input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<SetCanaryWeightActivity, CanaryWeightInput, ServingRoute>(Name, input, instanceId, executionContext);

    /// <inheritdoc />
    public override async Task<ServingRoute> RunAsync(TaskActivityContext context, CanaryWeightInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (shadow, share) = ((int?)input.CandidateVersion, input.ShadowShare ?? 0);
        if (input.ShadowShare is null)
        {
            var route = await serving.GetRouteAsync(input.Model, CancellationToken.None)
                ?? throw new InvalidOperationException($"the prediction service no longer serves '{input.Model}'.");
            (shadow, share) = route.Shadow == input.CandidateVersion ? (null, 0) : (route.Shadow, route.ShadowShare);
        }

        return await serving.SetTrafficAsync(input.Model, input.CandidateVersion, input.Weight / 100.0, shadow, share, CancellationToken.None);
    }
}

/// <summary>Input of <see cref="PromoteCanaryActivity"/> and <see cref="RollbackCanaryActivity"/>.</summary>
/// <param name="Model">The model.</param>
/// <param name="StableVersion">The version stable before the canary.</param>
/// <param name="CandidateVersion">The candidate.</param>
public sealed record CanaryVersionsInput(string Model, int StableVersion, int CandidateVersion);

/// <summary>Makes the candidate the service's stable version (the old stable is kept for rollback); idempotent.</summary>
public sealed class PromoteCanaryActivity(IServingAdmin serving) : TaskActivity<CanaryVersionsInput, ServingRoute>
{
    /// <summary>Registered name.</summary>
    public const string Name = "CanaryPromote";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<ServingRoute> RunFunctionAsync([ActivityTrigger] CanaryVersionsInput input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<PromoteCanaryActivity, CanaryVersionsInput, ServingRoute>(Name, input, instanceId, executionContext);

    /// <inheritdoc />
    public override Task<ServingRoute> RunAsync(TaskActivityContext context, CanaryVersionsInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return serving.PromoteAsync(input.Model, input.CandidateVersion, CancellationToken.None);
    }
}

/// <summary>
/// Sends all traffic back to the stable version: takes the candidate off (weight 0) and off the shadow, and, when the
/// candidate was promoted meanwhile, makes the old stable version stable again; idempotent.
/// </summary>
public sealed class RollbackCanaryActivity(IServingAdmin serving) : TaskActivity<CanaryVersionsInput, ServingRoute>
{
    /// <summary>Registered name.</summary>
    public const string Name = "CanaryRollback";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<ServingRoute> RunFunctionAsync([ActivityTrigger] CanaryVersionsInput input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<RollbackCanaryActivity, CanaryVersionsInput, ServingRoute>(Name, input, instanceId, executionContext);

    /// <inheritdoc />
    public override async Task<ServingRoute> RunAsync(TaskActivityContext context, CanaryVersionsInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var route = await serving.GetRouteAsync(input.Model, CancellationToken.None)
            ?? throw new InvalidOperationException($"the prediction service no longer serves '{input.Model}'.");
        if (route.Candidate is not null || route.Shadow == input.CandidateVersion)
        {
            var keepShadow = route.Shadow != input.CandidateVersion;
            route = await serving.SetTrafficAsync(input.Model, null, 0, keepShadow ? route.Shadow : null, keepShadow ? route.ShadowShare : 0, CancellationToken.None);
        }

        if (route.Stable != input.StableVersion)
        {
            route = await serving.PromoteAsync(input.Model, input.StableVersion, CancellationToken.None);
        }

        return route;
    }
}
