using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Workflows.Functions.Canary;
using Workflows.ML.Monitoring;
using Workflows.ML.Registry;
using Workflows.Functions.Orchestration;

namespace Workflows.Functions.Monitoring;

/// <summary>
/// Compares what a model version serves with what it was trained on: reads the version's reference profile from the
/// registry (<see cref="ReferenceProfile.FileName"/>, stored at registration) and the service's recent sample of its
/// inputs and predictions (<see cref="IServingAdmin.GetSampleAsync"/>), counts the sample into the reference's bins and
/// computes PSI per feature and for the prediction (<see cref="DriftDetector"/>), and the model's age against the
/// staleness limit. Too few samples is <see cref="DriftCheckStatus.InsufficientData"/>, never Ok. An invalid input, a
/// version without a profile, or a sample of other features fails the activity, saying why.
/// </summary>
public sealed class DriftCheckActivity(IModelRegistry registry, IServingAdmin serving, TimeProvider timeProvider) : TaskActivity<DriftCheckInput, DriftCheckOutput>
{
    /// <summary>Registered name.</summary>
    public const string Name = "DriftCheck";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<DriftCheckOutput> RunFunctionAsync([ActivityTrigger] DriftCheckInput input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<DriftCheckActivity, DriftCheckInput, DriftCheckOutput>(Name, input, instanceId, executionContext);

    /// <inheritdoc />
    public override Task<DriftCheckOutput> RunAsync(TaskActivityContext context, DriftCheckInput input) => CheckAsync(input, CancellationToken.None);

    /// <summary>The check itself (what <see cref="RunAsync"/> runs).</summary>
    public async Task<DriftCheckOutput> CheckAsync(DriftCheckInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input, "input (model, version, warnThreshold, alertThreshold, minSamples, stalenessLimit, maxRows)");
        var problems = input.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("DriftCheck input is invalid: " + string.Join(" ", problems));
        }

        var version = input.Version
            ?? (await serving.GetRouteAsync(input.Model, cancellationToken).ConfigureAwait(false))?.Stable
            ?? throw new InvalidOperationException($"the prediction service does not serve '{input.Model}', so it has no stable version to check.");
        var json = await registry.ReadFileAsync(input.Model, version, ReferenceProfile.FileName, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException(
                $"model '{input.Model}' version {version} has no reference profile ({ReferenceProfile.FileName}) in the registry; EpochTraining stores one with every model it registers.");
        var profile = ReferenceProfile.FromJson(json);
        var sample = await serving.GetSampleAsync(input.Model, version, input.MaxRows, from: null, to: null, cancellationToken).ConfigureAwait(false);
        if (sample.Rows > 0 && sample.Features != profile.Features.Count)
        {
            throw new InvalidOperationException(
                $"the service's sample of '{input.Model}' version {version} has {sample.Features} features; its reference profile has {profile.Features.Count}.");
        }

        var counts = BinCounts.For(profile);
        if (sample.Rows > 0)
        {
            counts.Add(profile, ReferencePrediction.Columns(sample.Inputs, sample.Rows, sample.Features), sample.Predictions);
        }

        var options = new DriftOptions(input.WarnThreshold, input.AlertThreshold, input.MinSamples, MaxModelAge: input.StalenessLimit);
        var report = DriftDetector.Compare(profile, counts, timeProvider.GetUtcNow(), options);
        return new DriftCheckOutput(
            input.Model,
            version,
            StatusOf(report.Status),
            report.Features,
            report.Prediction,
            report.WorstFeature,
            report.SampleRows,
            report.ReferenceRows,
            report.ModelAge,
            report.IsStale,
            report.RetrainRecommended);
    }

    private static DriftCheckStatus StatusOf(DriftStatus status) => status switch
    {
        DriftStatus.Stable => DriftCheckStatus.Ok,
        DriftStatus.Inconclusive => DriftCheckStatus.InsufficientData,
        DriftStatus.Moderate => DriftCheckStatus.Warn,
        _ => DriftCheckStatus.Drift,
    };
}
