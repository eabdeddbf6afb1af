using Microsoft.Azure.Functions.Worker;
using System.Globalization;
using Microsoft.DurableTask;
using Workflows.Functions.Canary;
using Workflows.Functions.Monitoring;
using Workflows.Functions.Search;
using Workflows.Functions.Statistics;
using Workflows.Functions.Training;
using Workflows.ML.Data;
using Workflows.Functions.Orchestration;

namespace Workflows.Functions.Retraining;

/// <summary>
/// Retrains a served model when its inputs drift or it grows stale, and promotes the new version by canary
/// (docs/workflows/retraining-pipeline.md): statistics on the newest data (ChunkedStatistics), a drift check of the
/// service's stable version (DriftCheck), the decision, EpochTraining or HalvingSearch (which register the new
/// version), the candidate against the stable version on the same rows (both re-scored on the candidate's holdout where
/// that can be done), and CanaryPromotion. The sub-orchestrations run as
/// children of this instance, so one history holds the whole chain and every decision is in the output with its reason.
/// </summary>
public sealed class RetrainingPipelineOrchestrator(IDatasetStorage storage) : TaskOrchestrator<RetrainingPipelineInput, RetrainingPipelineOutput>
{
    /// <summary>Registered name.</summary>
    public const string Name = "RetrainingPipeline";

    /// <summary>The orchestrator as a function: <see cref="TaskFunctions.RunOrchestratorAsync{TOrchestrator, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<RetrainingPipelineOutput> RunFunctionAsync([OrchestrationTrigger] TaskOrchestrationContext context, FunctionContext executionContext) =>
        TaskFunctions.RunOrchestratorAsync<RetrainingPipelineOrchestrator, RetrainingPipelineInput, RetrainingPipelineOutput>(context, executionContext);

    /// <inheritdoc />
    public override async Task<RetrainingPipelineOutput> RunAsync(TaskOrchestrationContext context, RetrainingPipelineInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input, "input (model, dataset, training, canary, drift, force)");
        var decisions = new List<RetrainingDecision>();
        void Decide(string stage, string detail)
        {
            decisions.Add(new RetrainingDecision(context.CurrentUtcDateTime, stage, detail));
            context.SetCustomStatus(new RetrainingStatus(stage, detail));
        }

        context.SetCustomStatus(new RetrainingStatus("validating", string.Empty));
        var problems = input.Validate(storage);
        if (problems.Count > 0)
        {
            throw new ArgumentException("invalid retraining pipeline: " + string.Join(" ", problems));
        }

        var target = await context.CallActivityAsync<RetrainingTarget>(ValidateRetrainingActivity.Name, input.Model);
        if (target.Problems.Count > 0 || target.StableVersion is not { } stable)
        {
            throw new ArgumentException("invalid retraining pipeline: " + string.Join(" ", target.Problems));
        }

        var (labelColumn, features, csvChunkRows) = input.Columns;
        context.SetCustomStatus(new RetrainingStatus("statistics", $"the newest data '{input.Dataset}'"));
        var statistics = await context.CallSubOrchestratorAsync<ChunkedStatisticsOutput>(
            ChunkedStatisticsOrchestrator.Name,
            new ChunkedStatisticsInput(input.Dataset, labelColumn, features, HistogramBins: 0, Quantiles: [], ChunksPerActivity: 1, csvChunkRows));
        Decide("statistics", Invariant($"the newest data '{input.Dataset}': {statistics.Statistics.Rows} rows ({statistics.ArtifactPath})."));

        context.SetCustomStatus(new RetrainingStatus("drift", Invariant($"checking version {stable}")));
        var report = await context.CallActivityAsync<DriftCheckOutput>(DriftCheckActivity.Name, input.DriftInput);
        var drift = DriftSummary.Of(report, input.DriftInput);
        Decide("drift", Describe(drift, input.DriftInput));

        var (retrain, why) = ShouldRetrain(drift, input.Force);
        Decide("decide", (retrain ? "retrain: " : "no retraining: ") + why);
        RetrainingPipelineOutput End(string outcome, string reason, int? candidate = null, ModelComparison? comparison = null, string? canary = null, int? stableAtEnd = null)
        {
            Decide("end", $"{outcome}: {reason}");
            context.SetCustomStatus(new RetrainingStatus("done", $"{outcome}: {reason}"));
            return new RetrainingPipelineOutput(
                input.Model, outcome, reason, stable, statistics.Statistics.Rows, statistics.ArtifactPath, drift, retrain, why, candidate, comparison, canary, stableAtEnd ?? stable, decisions);
        }

        if (!retrain)
        {
            return End(RetrainingOutcome.NotRetrained, why);
        }

        var (candidate, compare) = input.TrainingInput is { } training
            ? await TrainAsync(context, input, training, stable, Decide)
            : await SearchAsync(context, input, input.SearchInput!, stable, Decide);

        context.SetCustomStatus(new RetrainingStatus("comparing", Invariant($"version {candidate} against {stable}")));
        var comparison = await context.CallActivityAsync<ModelComparison>(CompareWithStableActivity.Name, compare);
        Decide("compare", comparison.Detail);
        if (comparison.CandidateWorse)
        {
            return End(RetrainingOutcome.CandidateWorse, Invariant($"version {candidate} is worse than the stable version {stable} on the same holdout, so it is not canaried: {comparison.Detail}"), candidate, comparison);
        }

        context.SetCustomStatus(new RetrainingStatus("canary", Invariant($"version {candidate} against {stable}")));
        var canary = await context.CallSubOrchestratorAsync<CanaryPromotionOutput>(
            CanaryPromotionOrchestrator.Name, input.Canary.ToInput(input.Model, candidate, stable));
        Decide("canary", $"{canary.Outcome}: {canary.Reason}");
        return End(canary.Outcome, Invariant($"the canary of version {candidate}: {canary.Reason}"), candidate, comparison, canary.Outcome, canary.StableAtEnd);
    }

    /// <summary>EpochTraining registers the candidate; it is compared with the stable version on its holdout.</summary>
    private static async Task<(int Candidate, CompareWithStableInput Compare)> TrainAsync(
        TaskOrchestrationContext context, RetrainingPipelineInput input, EpochTrainingInput training, int stable, Action<string, string> decide)
    {
        context.SetCustomStatus(new RetrainingStatus("training", $"EpochTraining on '{input.Dataset}'"));
        var trained = await context.CallSubOrchestratorAsync<EpochTrainingOutput>(EpochTrainingOrchestrator.Name, training);
        var best = trained.LearningCurve[trained.BestEpoch - 1].Holdout;
        decide("train", Invariant($"registered version {trained.Version} of '{input.Model}': epoch {trained.BestEpoch} of {trained.LearningCurve.Count}, holdout log loss {best.LogLoss:0.######}, accuracy {best.Accuracy:0.####}."));
        return (trained.Version, new CompareWithStableInput(
            input.Model, stable, trained.Version, training.Holdout ?? input.Dataset, training.Holdout is null ? trained.HoldoutChunks : null, training.LabelColumn, training.CsvChunkRows));
    }

    /// <summary>HalvingSearch refits its winner on the dataset and registers it; with no holdout, the comparison uses the registry's figures.</summary>
    private static async Task<(int Candidate, CompareWithStableInput Compare)> SearchAsync(
        TaskOrchestrationContext context, RetrainingPipelineInput input, SearchInput search, int stable, Action<string, string> decide)
    {
        context.SetCustomStatus(new RetrainingStatus("training", $"HalvingSearch ({search.Learner}) on '{input.Dataset}'"));
        var searched = await context.CallSubOrchestratorAsync<SearchOutput>(HalvingSearchOrchestrator.Name, search);
        var model = searched.Model ?? throw new InvalidOperationException("HalvingSearch registered no model.");
        decide("train", Invariant($"registered version {model.Version} of '{input.Model}' ({model.Format}): {search.Learner}, the best of {searched.Evaluations} evaluations, cross-validated {search.Metric} {searched.BestScore:0.####} at {searched.BestResources} {search.Resource}."));
        return (model.Version, new CompareWithStableInput(input.Model, stable, model.Version));
    }

    /// <summary>The decision rules: drift at the alert threshold or a stale model retrains; so does <paramref name="force"/>; anything else does not.</summary>
    private static (bool Retrain, string Why) ShouldRetrain(DriftSummary drift, bool force)
    {
        var reasons = new List<string>();
        if (drift.Status == DriftCheckStatus.Drift)
        {
            reasons.Add(Invariant($"drift at the alert threshold (worst feature '{drift.WorstFeature}', PSI {drift.WorstFeaturePsi:0.####})"));
        }

        if (drift.Stale)
        {
            reasons.Add(Invariant($"the model is stale ({drift.ModelAge} old)"));
        }

        if (reasons.Count > 0)
        {
            return (true, string.Join(" and ", reasons) + (force ? "; forced too." : "."));
        }

        var instead = drift.Status switch
        {
            DriftCheckStatus.Ok => "no drift, model fresh",
            DriftCheckStatus.Warn => Invariant($"moderate drift below the alert threshold (worst feature '{drift.WorstFeature}', PSI {drift.WorstFeaturePsi:0.####}), model fresh"),
            _ => Invariant($"too few samples for a drift verdict ({drift.SampleRows} rows), model fresh"),
        };
        return force ? (true, $"forced ({instead})." ) : (false, instead + ".");
    }

    private static string Describe(DriftSummary drift, DriftCheckInput input) =>
        Invariant($"version {drift.Version}: {drift.Status} over {drift.SampleRows} sampled rows (warn {input.WarnThreshold}, alert {input.AlertThreshold}); worst feature {drift.WorstFeature ?? "none"} PSI {drift.WorstFeaturePsi?.ToString("0.####", CultureInfo.InvariantCulture) ?? "n/a"}, prediction PSI {drift.PredictionPsi?.ToString("0.####", CultureInfo.InvariantCulture) ?? "n/a"}; age {drift.ModelAge}{(input.StalenessLimit is { } limit ? Invariant($" (limit {limit})") : string.Empty)}, stale: {drift.Stale}.");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
