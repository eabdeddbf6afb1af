using Microsoft.DurableTask.Client;
using Workflows.Functions.Canary;
using Workflows.Functions.Datasets;
using Workflows.Functions.Monitoring;
using Workflows.Functions.Search;
using Workflows.Functions.Retraining;
using Workflows.Functions.Statistics;
using Workflows.Functions.Tests.Canary;
using Workflows.Functions.Tests.Search;
using Workflows.Functions.Training;
using Workflows.ML.Canary;
using Workflows.ML.Monitoring;
using Workflows.ML.Onnx;
using Workflows.ML.Registry;
using Workflows.ML.Search.Learners;
using Workflows.ML.Search.Space;
using Workflows.ML.Training;
using Xunit;
using static Workflows.Functions.Tests.Monitoring.DriftTestModel;

namespace Workflows.Functions.Tests.Retraining;

/// <summary>The pipeline over the in-memory backend with a fake prediction service: stable version 1, version 2 loaded for the canary.</summary>
public sealed class RetrainingPipelineTests : IDisposable
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private readonly string _folder = Directory.CreateTempSubdirectory("wf-retrain-").FullName;
    private readonly string _data;
    private readonly LocalFolderModelRegistry _registry;
    private readonly FakeServing _serving = new("m", 1, 2);

    public RetrainingPipelineTests()
    {
        _data = Path.Combine(_folder, "data");
        _registry = new LocalFolderModelRegistry(Path.Combine(_folder, "registry"));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Version 1, the stable one, with a reference profile of 2,000 rows; and the newest data, a small generated dataset.</summary>
    private async Task<SearchHarness> StartAsync(double sampleShift, double stableLogLoss = 0.5, ModelLineage? stableLineage = null, LogisticRegressionModel? stableModel = null)
    {
        var rows = Rows(2_000, seed: 1);
        var partial = new ReferencePartial(["f0", "f1", "f2"]);
        var columns = ReferencePrediction.Columns(rows, 2_000, Features);
        var predictions = Predict(rows);
        partial.AddChunk(columns, predictions);
        var profile = ReferenceProfile.Build(partial, DateTimeOffset.UtcNow);
        var counts = BinCounts.For(profile);
        counts.Add(profile, columns, predictions);
        await _registry.RegisterAsync(
            new ModelRegistration("m", "onnx", new Dictionary<string, double> { ["logLoss"] = stableLogLoss }, stableLineage ?? new ModelLineage("old-data", "s", new Dictionary<string, string>(), null), null,
                new Dictionary<string, byte[]> { [ReferenceProfile.FileName] = profile.WithCountedProportions(counts).ToJson() }),
            OnnxModelExporter.Export(stableModel ?? Model()));
        var sample = Rows(1_000, seed: 2, sampleShift);
        _serving.Samples[1] = new ServingSample(1, Features, 1_000, sample, Predict(sample));

        var harness = await SearchHarness.StartAsync(_registry, serving: _serving);
        var generated = await harness.RunAsync(GenerateDatasetOrchestrator.Name, new GenerateDatasetInput(1_500, Features, Informative: 2, ChunkRows: 500, Seed: 3, _data));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, generated.RuntimeStatus);
        harness.Calls.Clear();
        return harness;
    }

    private RetrainingPipelineInput Input(bool force = false) => new(
        "m",
        _data,
        new EpochTrainingInput(null!, "label", null!, Epochs: 1, Seed: 7, BatchSize: 16, LearningRate: 0.2f, HoldoutFraction: 0.34),
        new RetrainingCanarySpec([new(50, Second), new(100, Second)], [new("error-rate", CheckKind.ErrorRate, 0.05, MinSamples: 10)], Second),
        new DriftCheckInput(null!, MinSamples: 100),
        force);

    [Fact]
    public async Task BadInput_FailsWithTheReason_BeforeAnythingRuns()
    {
        await using var harness = await StartAsync(sampleShift: 0);

        var thresholds = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, Input() with { Drift = new DriftCheckInput("m", WarnThreshold: 0.3, AlertThreshold: 0.2) });
        Assert.Equal(0, harness.TotalCalls);
        var unknown = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, Input() with { Model = "nope" });

        Assert.Equal(OrchestrationRuntimeStatus.Failed, thresholds.RuntimeStatus);
        Assert.Contains("drift.alertThreshold: must be a number at least warnThreshold", thresholds.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, unknown.RuntimeStatus);
        Assert.Contains("model: 'nope' is not in the model registry", unknown.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal([ValidateRetrainingActivity.Name], harness.Calls.Keys);
        Assert.Empty(_serving.Changes);
    }

    [Fact]
    public async Task NoDrift_EndsWithTheReason_WithoutTraining()
    {
        await using var harness = await StartAsync(sampleShift: 0);

        var result = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, Input());

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<RetrainingPipelineOutput>()!;
        Assert.Equal((RetrainingOutcome.NotRetrained, "no drift, model fresh.", false), (output.Outcome, output.Reason, output.Retrained));
        Assert.Equal((DriftCheckStatus.Ok, 1, 1_500L), (output.Drift.Status, output.StableVersion, output.DatasetRows));
        Assert.Null(output.CandidateVersion);
        Assert.Equal(["statistics", "drift", "decide", "end"], output.Decisions.Select(d => d.Stage));
        Assert.Equal(0, harness.CallsOf(PrepareTrainingActivity.Name));
        Assert.Single(await _registry.ListVersionsAsync("m"));
        Assert.Empty(_serving.Changes);
        Assert.Contains("\"stage\":\"done\"", result.SerializedCustomStatus, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TooFewSamples_IsNoReasonToRetrain_EndsSayingSo()
    {
        await using var harness = await StartAsync(sampleShift: 2);

        var result = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, Input() with { Drift = new DriftCheckInput("m", MinSamples: 5_000) });

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<RetrainingPipelineOutput>()!;
        Assert.Equal((DriftCheckStatus.InsufficientData, RetrainingOutcome.NotRetrained), (output.Drift.Status, output.Outcome));
        Assert.Equal("too few samples for a drift verdict (1000 rows), model fresh.", output.Reason);
        Assert.Equal(0, harness.CallsOf(PrepareTrainingActivity.Name));
    }

    [Fact]
    public async Task Drift_Retrains_Registers_AndPromotesByCanary_OneHistoryHoldingTheChain()
    {
        await using var harness = await StartAsync(sampleShift: 2);

        var result = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, Input());

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<RetrainingPipelineOutput>()!;
        Assert.Equal(DriftCheckStatus.Drift, output.Drift.Status);
        Assert.Equal("f0", output.Drift.WorstFeature);

        // Each feature's PSI and verdict, as the dashboard draws them, with the thresholds they were judged by.
        Assert.Equal(output.Drift.WorstFeaturePsi, output.Drift.Features.Single(f => f.Name == "f0").Psi);
        Assert.Equal(DriftStatus.Significant, output.Drift.Features.Single(f => f.Name == "f0").Status);
        Assert.All(output.Drift.Features, f => Assert.True(f.Psi <= output.Drift.WorstFeaturePsi));
        Assert.Equal((0.1, 0.25), (output.Drift.WarnThreshold, output.Drift.AlertThreshold));
        Assert.True(output.Retrained);
        Assert.StartsWith("drift at the alert threshold (worst feature 'f0'", output.RetrainReason, StringComparison.Ordinal);
        Assert.Equal((2, CanaryOutcome.Promoted, CanaryOutcome.Promoted, 2), (output.CandidateVersion, output.Outcome, output.CanaryOutcome, output.StableAtEnd));
        Assert.False(output.Comparison!.SameHoldout);
        Assert.Equal(["statistics", "drift", "decide", "train", "compare", "canary", "end"], output.Decisions.Select(d => d.Stage));
        Assert.Equal(2, (await _registry.ListVersionsAsync("m")).Count);
        Assert.Equal(["weight 2=50", "weight 2=100", "promote 2"], _serving.Changes.Where(c => !c.StartsWith("candidate off", StringComparison.Ordinal)));
        Assert.Equal(1, harness.CallsOf(PrepareTrainingActivity.Name));
        Assert.True(harness.CallsOf(ComputeChunkMomentsActivity.Name) >= 3);
    }

    [Fact]
    public async Task ACandidateWorseOnTheSameHoldout_IsRegistered_ButNotCanaried()
    {
        // The stable version's lineage names the holdout EpochTraining will choose (1 of the 3 chunks, by seed 7).
        var chunks = string.Join(',', HoldoutSplit.Choose(7, 3, 0.34));
        var lineage = new ModelLineage(_data, "s", new Dictionary<string, string> { ["holdout"] = "1 of 3 chunks (holdoutFraction 0.34), chosen by seed 7", ["holdoutChunks"] = chunks }, null);
        await using var harness = await StartAsync(sampleShift: 2, stableLogLoss: 0.001, lineage);

        var result = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, Input());

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<RetrainingPipelineOutput>()!;
        Assert.Equal((RetrainingOutcome.CandidateWorse, 2, true, true), (output.Outcome, output.CandidateVersion, output.Comparison!.SameHoldout, output.Comparison.CandidateWorse));
        Assert.Equal(0.001, output.Comparison.StableLogLoss);
        Assert.Null(output.CanaryOutcome);
        Assert.Empty(_serving.Changes);
        Assert.Equal(2, (await _registry.ListVersionsAsync("m")).Count);
    }

    /// <summary>A stable version over the generated data's feature columns that answers 0.5 for every row: log loss ln 2 on any holdout.</summary>
    private static (ModelLineage Lineage, LogisticRegressionModel Model) ConstantStable() =>
        (new ModelLineage("old-data", "s", new Dictionary<string, string> { ["featureColumns"] = "f0,f1,f2" }, null),
         LogisticRegressionModel.FromState(TrainerState.FromParts(Features, 2, [0f, 0f, 0f], [0f], 0, 0, [0, 0]), new FeatureStandardization(new float[Features], [1f, 1f, 1f])));

    [Fact]
    public async Task TheStableVersion_IsReScoredOnTheCandidatesHoldout_AndABetterCandidateGoesToTheCanary()
    {
        var (lineage, model) = ConstantStable();
        await using var harness = await StartAsync(sampleShift: 2, stableLineage: lineage, stableModel: model);

        var result = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, Input());

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<RetrainingPipelineOutput>()!;
        var comparison = output.Comparison!;
        Assert.Equal((true, true, false, 500L), (comparison.Rescored, comparison.SameHoldout, comparison.CandidateWorse, comparison.HoldoutRows));
        Assert.Equal(Math.Log(2), comparison.StableLogLoss!.Value, 9);
        Assert.True(comparison.CandidateLogLoss < Math.Log(2), comparison.Detail);
        Assert.StartsWith("both re-scored on the candidate's holdout (chunks ", comparison.Detail, StringComparison.Ordinal);
        Assert.Equal(CanaryOutcome.Promoted, output.Outcome);
    }

    [Fact]
    public async Task AStableVersionTrainedOnTheSameData_IsNotReScoredOnRowsItTrainedOn()
    {
        var (lineage, model) = ConstantStable();
        await using var harness = await StartAsync(sampleShift: 2, stableLineage: lineage with { Dataset = _data }, stableModel: model);

        var result = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, Input());

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var comparison = result.ReadOutputAs<RetrainingPipelineOutput>()!.Comparison!;
        Assert.False(comparison.Rescored);
        Assert.StartsWith($"not re-scored on the candidate's holdout (the stable version was trained on '{_data}' too", comparison.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACandidateWorseThanTheStableVersionOnItsOwnHoldout_IsNotCanaried()
    {
        var (lineage, model) = ConstantStable();
        await using var harness = await StartAsync(sampleShift: 2, stableLineage: lineage, stableModel: model);

        // A learning rate far too high: probabilities saturate, and every misclassified row costs about 34 nats.
        var result = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, Input() with { Training = Input().Training! with { LearningRate = 50f } });

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<RetrainingPipelineOutput>()!;
        Assert.Equal((RetrainingOutcome.CandidateWorse, true, true), (output.Outcome, output.Comparison!.Rescored, output.Comparison.CandidateWorse));
        Assert.True(output.Comparison.CandidateLogLoss > Math.Log(2), output.Comparison.Detail);
        Assert.Empty(_serving.Changes);
    }

    private RetrainingPipelineInput SearchingInput() => Input() with
    {
        Training = null,
        Search = new SearchInput(
            null!, "label", LearnerCatalog.GradientBoosting,
            new ParameterSpace([new ParameterDefinition("n_estimators", ParameterKind.IntRange, 5, 20), new ParameterDefinition("max_depth", ParameterKind.IntRange, 1, 3)]),
            Seed: 3, NCandidates: "4", Factor: 2, Folds: 2),
    };

    [Fact]
    public async Task HalvingSearch_AsTheTrainingStep_RegistersItsWinnerWithAProfile_AndTheCanaryJudgesIt()
    {
        await using var harness = await StartAsync(sampleShift: 2);

        var result = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, SearchingInput());

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<RetrainingPipelineOutput>()!;
        Assert.Equal((2, CanaryOutcome.Promoted), (output.CandidateVersion, output.Outcome));
        Assert.Contains("gradient_boosting, the best of", output.Decisions.Single(d => d.Stage == "train").Detail, StringComparison.Ordinal);
        Assert.Equal(0, harness.CallsOf(PrepareTrainingActivity.Name));
        Assert.Equal(1, harness.CallsOf(RefitAndRegisterActivity.Name));

        // A search has no holdout (cross-validation), so nothing is re-scored and the comparison decides nothing.
        Assert.False(output.Comparison!.Rescored);
        Assert.StartsWith("not compared: version 2 was scored on holdout 'unknown'", output.Comparison.Detail, StringComparison.Ordinal);

        // The version carries what the next drift check needs: its feature columns and a reference profile of its rows.
        var registered = (await _registry.GetAsync("m", 2))!;
        Assert.Equal(("mlnet", "f0,f1,f2"), (registered.Format, registered.Lineage.Parameters!["featureColumns"]));
        var profile = ReferenceProfile.FromJson((await _registry.ReadFileAsync("m", 2, ReferenceProfile.FileName))!);
        Assert.Equal(["f0", "f1", "f2"], profile.Features.Select(f => f.Name));
        Assert.Equal(1_500, profile.Rows);
    }

    [Fact]
    public async Task BothTrainingAndSearch_OrNeither_IsBadInput()
    {
        await using var harness = await StartAsync(sampleShift: 0);

        var both = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, SearchingInput() with { Training = Input().Training });
        var neither = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, SearchingInput() with { Search = null });
        var random = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, SearchingInput() with { Search = SearchingInput().Search! with { Mode = "random" } });

        Assert.All([both, neither], r => Assert.Contains("training, search: give exactly one", r.FailureDetails!.ErrorMessage, StringComparison.Ordinal));
        Assert.Contains("search.mode: 'halving' or 'asha' (HalvingSearch), not 'random'", random.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(0, harness.TotalCalls);
    }

    [Fact]
    public async Task Force_RetrainsWithoutDrift()
    {
        await using var harness = await StartAsync(sampleShift: 0);

        var result = await harness.RunAsync(RetrainingPipelineOrchestrator.Name, Input(force: true));

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<RetrainingPipelineOutput>()!;
        Assert.Equal(DriftCheckStatus.Ok, output.Drift.Status);
        Assert.Equal("forced (no drift, model fresh).", output.RetrainReason);
        Assert.Equal((2, CanaryOutcome.Promoted), (output.CandidateVersion, output.Outcome));
    }
}
