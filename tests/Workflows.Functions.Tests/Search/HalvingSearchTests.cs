using System.Text.Json;
using Microsoft.DurableTask.Client;
using Workflows.Functions.Search;
using Workflows.ML.Generation;
using Workflows.ML.Registry;
using Workflows.ML.Search;
using Workflows.ML.Search.Halving;
using Workflows.ML.Search.Learners;
using Workflows.ML.Search.Space;
using Xunit;

namespace Workflows.Functions.Tests.Search;

public sealed class HalvingSearchTests : IAsyncLifetime
{
    private const int ChunkRows = 450;
    private const int Rows = 2 * ChunkRows;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "workflows-search-" + Guid.NewGuid().ToString("N"));
    private readonly LocalFolderModelRegistry _registry;

    public HalvingSearchTests() => _registry = new LocalFolderModelRegistry(Path.Combine(_folder, "registry"));

    private string DataPath => Path.Combine(_folder, "data");

    public async Task InitializeAsync()
    {
        var generator = new ClassificationGenerator(new ClassificationSpec(Features: 6, Informative: 3, Redundant: 1, ClustersPerClass: 1, Seed: 5));
        for (var chunk = 0; chunk < 2; chunk++)
        {
            await TestData.WriteParquetChunkAsync(generator, chunk, ChunkRows, Path.Combine(DataPath, $"part-{chunk:D5}.parquet"));
        }
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    private static ParameterSpace TreeSpace() => new(
    [
        new ParameterDefinition("n_estimators", ParameterKind.IntRange, 5, 40),
        new ParameterDefinition("max_depth", ParameterKind.IntRange, 1, 4),
        new ParameterDefinition("learning_rate", ParameterKind.LogUniform, 0.01, 0.5),
    ]);

    private static ParameterSpace SgdSpace() => new(
    [
        new ParameterDefinition("learning_rate", ParameterKind.LogUniform, 0.001, 0.5),
        new ParameterDefinition("alpha", ParameterKind.LogUniform, 1e-6, 1e-2),
    ]);

    private SearchInput TreeInput() => new(
        DataPath, ClassificationGenerator.LabelColumnName, LearnerCatalog.GradientBoosting, TreeSpace(),
        Seed: 7, NCandidates: "9", Factor: 3, MinResources: HalvingOptions.Exhaust, Folds: 3);

    private SearchInput SgdInput() => new(
        DataPath, ClassificationGenerator.LabelColumnName, LearnerCatalog.Sgd, SgdSpace(),
        Seed: 3, NCandidates: "8", Factor: 2, MinResources: "1", MaxResources: 8, Resource: "epochs", Folds: 3);

    [Fact]
    public async Task Halving_FindsAGoodWinner_FollowsThePlan_AndRegistersTheRefit()
    {
        await using var harness = await SearchHarness.StartAsync(_registry);
        var input = TreeInput() with { ModelName = "halving-demo" };

        var result = await harness.RunAsync(HalvingSearchOrchestrator.Name, input);

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<SearchOutput>()!;
        var plan = SuccessiveHalving.Plan(input.ToHalvingOptions(Rows), 3, 2);
        Assert.Equal([9, 3, 1], plan.NCandidatesPerIteration);
        Assert.Equal(plan.NCandidatesPerIteration, output.NCandidates);
        Assert.Equal(plan.NResources, output.NResources);
        Assert.Equal(Rows, output.NResources[^1]);
        var cv = output.CvResults;
        Assert.Equal(plan.NCandidatesPerIteration.Sum(), cv.Iter.Count);
        for (var i = 0; i < plan.NIterations; i++)
        {
            Assert.Equal(plan.CandidatesAt(i), cv.Iter.Count(iter => iter == i));
            Assert.All(cv.Iter.Select((iter, row) => (iter, row)).Where(r => r.iter == i), r => Assert.Equal(plan.ResourcesAt(i), cv.NResources[r.row]));
        }

        Assert.Equal(3, cv.SplitTestScores.Count);
        Assert.Equal(1, cv.RankTestScore.Min());

        // Each iteration keeps the best third of the one before: the survivors are its top scores.
        for (var i = 1; i < plan.NIterations; i++)
        {
            var previous = cv.Iter.Select((iter, row) => (iter, row)).Where(r => r.iter == i - 1)
                .OrderByDescending(r => cv.MeanTestScore[r.row]).ThenBy(r => cv.Candidate[r.row]).Take(plan.CandidatesAt(i)).Select(r => cv.Candidate[r.row]);
            var current = cv.Iter.Select((iter, row) => (iter, row)).Where(r => r.iter == i).Select(r => cv.Candidate[r.row]);
            Assert.Equal(previous.Order(), current.Order());
        }

        // A sensible winner: the last iteration's best, well above chance, with the sampled parameters of its index.
        Assert.Equal(cv.BestIndex, cv.Iter.Count - 1);
        Assert.Equal(output.BestScore, cv.MeanTestScore[cv.BestIndex]);
        Assert.True(output.BestScore > 0.8, $"best score {output.BestScore}");
        Assert.Equal(input.Space.CandidateAt(input.Seed, output.BestCandidate).Parameters, output.BestParams);
        Assert.Equal(Rows, output.BestResources);
        Assert.Equal(13, output.Evaluations);

        // Each evaluation ran once: replays reused the scores in the history.
        Assert.Equal(13, harness.CallsOf(EvaluateCandidateActivity.Name));
        Assert.Equal(1, harness.CallsOf(DescribeSearchDataActivity.Name));
        Assert.Equal(1, harness.CallsOf(RefitAndRegisterActivity.Name));

        var status = result.ReadCustomStatusAs<SearchStatus>()!;
        Assert.Equal([0, 1, 2], status.Rounds.Select(r => r.Round));
        Assert.Equal(output.BestCandidate, status.Rounds[^1].BestCandidate);

        var model = Assert.IsType<SearchModelReference>(output.Model);
        var registered = await _registry.GetAsync("halving-demo", model.Version);
        Assert.NotNull(registered);
        Assert.Equal("mlnet", registered.Format);
        Assert.Equal(output.BestScore, registered.Metrics["cv_accuracy"]);
        Assert.Equal("halving", registered.Lineage.Parameters["search"]);
        Assert.Equal("7", registered.Lineage.Parameters["seed"]);
        Assert.Equal("9,3,1", registered.Lineage.Parameters["nCandidates"]);
        Assert.Equal(string.Join(',', plan.NResources), registered.Lineage.Parameters["nResources"]);
        Assert.Equal(input.Space, JsonSerializer.Deserialize<ParameterSpace>(registered.Lineage.Parameters["space"])!, SpaceComparer.Instance);
        var artifact = await _registry.ReadArtifactAsync("halving-demo", model.Version);
        Assert.True(artifact.Length > 0 && artifact[0] == (byte)'P', "an ML.NET model .zip");
    }

    [Fact]
    public async Task Halving_StartedWithTheJsonOfAnHttpRequest_RunsThePlanAndRegistersTheWinner()
    {
        // The body a user posts to the generic starter (camelCase, enum names, nCandidates as a number), as the host
        // hands it to the orchestrator.
        await using var harness = await SearchHarness.StartAsync(_registry);
        using var body = JsonDocument.Parse($$"""
            {"dataset":{{JsonSerializer.Serialize(DataPath)}},"labelColumn":"label","learner":"gradient_boosting",
             "space":{"parameters":[{"name":"n_estimators","kind":"IntRange","min":5,"max":40},
                                    {"name":"learning_rate","kind":"LogUniform","min":0.01,"max":0.5}]},
             "nCandidates":9,"factor":3,"minResources":"exhaust","folds":3,"seed":7,"modelName":"from-json"}
            """);

        var result = await harness.RunAsync(HalvingSearchOrchestrator.Name, body.RootElement);

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<SearchOutput>()!;
        Assert.Equal([9, 3, 1], output.NCandidates);
        Assert.Equal(Rows, output.NResources[^1]);
        var model = Assert.IsType<SearchModelReference>(output.Model);
        Assert.NotNull(await _registry.GetAsync("from-json", model.Version));
    }

    [Fact]
    public async Task Halving_Factor2_OnEpochs_ResumesSurvivors_AndFollowsThePlan()
    {
        await using var harness = await SearchHarness.StartAsync(_registry);
        var input = SgdInput();

        var result = await harness.RunAsync(HalvingSearchOrchestrator.Name, input);

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<SearchOutput>()!;
        var plan = SuccessiveHalving.Plan(input.ToHalvingOptions(8), 3, 2);
        Assert.Equal([8, 4, 2, 1], output.NCandidates);
        Assert.Equal([1, 2, 4, 8], output.NResources);
        Assert.Equal(plan.NResources, output.NResources);
        Assert.True(output.BestScore > 0.75, $"best score {output.BestScore}");
        Assert.Equal(15, harness.CallsOf(EvaluateCandidateActivity.Name));

        // A survivor resumed from its checkpoint scores as if trained from scratch to the same epochs.
        var (iter, row) = output.CvResults.Iter.Select((i, r) => (i, r)).Last();
        var fresh = await harness.RunAsync(RandomSearchOrchestrator.Name, input with
        {
            Space = new ParameterSpace([.. output.BestParams.Select(p => new ParameterDefinition(p.Key, ParameterKind.Uniform, p.Value.Number, p.Value.Number))]),
            NCandidates = "1",
        });
        Assert.True(fresh.RuntimeStatus == OrchestrationRuntimeStatus.Completed, fresh.FailureDetails?.ErrorMessage);
        Assert.Equal(3, iter);
        Assert.Equal(output.CvResults.MeanTestScore[row], fresh.ReadOutputAs<SearchOutput>()!.BestScore);
    }

    [Fact]
    public async Task Halving_RunTwice_ReachesTheSameDecisionsAndScores()
    {
        SearchOutput first;
        await using (var harness = await SearchHarness.StartAsync(_registry))
        {
            first = (await harness.RunAsync(HalvingSearchOrchestrator.Name, TreeInput())).ReadOutputAs<SearchOutput>()!;
        }

        await using var again = await SearchHarness.StartAsync(_registry);
        var second = (await again.RunAsync(HalvingSearchOrchestrator.Name, TreeInput())).ReadOutputAs<SearchOutput>()!;

        Assert.Equal(JsonSerializer.Serialize(first.CvResults), JsonSerializer.Serialize(second.CvResults));
        Assert.Equal(first.BestCandidate, second.BestCandidate);
    }

    [Fact]
    public async Task Halving_Terminated_MidRound_SchedulesNothingMore_AndKeepsTheScoresItHad()
    {
        // The first three evaluations run; the rest wait at the gate until the instance is terminated.
        var admitted = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var harness = await SearchHarness.StartAsync(_registry, activity =>
            activity == EvaluateCandidateActivity.Name && Interlocked.Increment(ref admitted) > 3 ? gate.Task : Task.CompletedTask);
        var id = await harness.Client.ScheduleNewOrchestrationInstanceAsync(HalvingSearchOrchestrator.Name, TreeInput());
        using var timeout = new CancellationTokenSource(SearchHarness.SafetyTimeout);
        SearchStatus? status;
        while ((status = (await harness.Client.GetInstanceAsync(id, getInputsAndOutputs: true, timeout.Token))?.ReadCustomStatusAs<SearchStatus>()) is not { Completed: 3 })
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), timeout.Token);
        }

        await harness.Client.TerminateInstanceAsync(id, "enough", timeout.Token);
        var terminated = await harness.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        gate.SetResult();

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, terminated.RuntimeStatus);
        var kept = terminated.ReadCustomStatusAs<SearchStatus>()!;
        Assert.Equal(3, kept.Completed);
        Assert.Equal(status.Scores.Select(s => (s.Candidate, s.Score)), kept.Scores.Select(s => (s.Candidate, s.Score)));
        var history = await harness.Client.GetOrchestrationHistoryAsync(id, timeout.Token);
        var terminatedAt = history.ToList().FindIndex(e => e is global::DurableTask.Core.History.ExecutionTerminatedEvent);
        Assert.True(terminatedAt > 0);
        Assert.DoesNotContain(history.Skip(terminatedAt), e => e is global::DurableTask.Core.History.TaskScheduledEvent);
        Assert.Equal(0, harness.CallsOf(RefitAndRegisterActivity.Name));
    }

    [Fact]
    public async Task Asha_PromotesTheBestTrials_ResumingFromCheckpoints()
    {
        await using var harness = await SearchHarness.StartAsync(_registry);
        var input = SgdInput() with { Mode = SearchInput.AshaMode, Parallelism = 3 };

        var result = await harness.RunAsync(HalvingSearchOrchestrator.Name, input);

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<SearchOutput>()!;
        var table = Assert.IsAssignableFrom<IReadOnlyList<RungRow>>(output.RungTable);
        Assert.Equal(8, table.Count(e => e.Rung == 0));
        Assert.Contains(table, e => e.Rung == 1);
        Assert.All(table, e => Assert.Equal(1 << e.Rung, e.Resource));
        Assert.All(table.Where(e => e.Rung > 0), e => Assert.Contains(table, below => below.Trial == e.Trial && below.Rung == e.Rung - 1));
        Assert.Equal(table.Count, output.Evaluations);
        Assert.Equal(table.Count, harness.CallsOf(EvaluateCandidateActivity.Name));
        var top = table.Where(e => e.Score is not null).Max(e => e.Resource);
        Assert.Equal(top, output.BestResources);
        Assert.Equal(table.Where(e => e.Resource == top).Max(e => e.Score), output.BestScore);
        Assert.Equal(output.NCandidates, output.CvResults.Iter.GroupBy(i => i).Select(g => g.Count()));
        Assert.True(output.BestScore > 0.75, $"best score {output.BestScore}");
    }

    [Fact]
    public async Task RandomSearch_EvaluatesEveryCandidateAtTheMaxResource()
    {
        await using var harness = await SearchHarness.StartAsync(_registry);
        var input = TreeInput() with { NCandidates = "5" };

        var result = await harness.RunAsync(RandomSearchOrchestrator.Name, input);

        Assert.True(result.RuntimeStatus == OrchestrationRuntimeStatus.Completed, result.FailureDetails?.ErrorMessage);
        var output = result.ReadOutputAs<SearchOutput>()!;
        Assert.Equal([5], output.NCandidates);
        Assert.Equal([Rows], output.NResources);
        Assert.Equal([0, 1, 2, 3, 4], output.CvResults.Candidate);
        Assert.All(output.CvResults.NResources, n => Assert.Equal(Rows, n));
        Assert.Equal(input.Space.Sample(input.Seed, 5).Select(c => c.Parameters), output.CvResults.Params);
        Assert.Equal(5, harness.CallsOf(EvaluateCandidateActivity.Name));
        Assert.Equal(output.CvResults.MeanTestScore.Max(), output.BestScore);
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { "empty-space", "The search space is empty" },
        { "factor", "factor >= 2" },
        { "learner", "Unknown learner 'xgboost'" },
        { "parameter", "has no parameter 'gamma'" },
        { "min-above-max", "min_resources_=500 is greater than max_resources_=100" },
        { "folds", "at least 2 folds" },
        { "resource", "resource must be" },
        { "asha-factor", "ASHA needs a whole factor" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task BadInput_FailsWithAReadableReason_BeforeAnyActivity(string name, string reason)
    {
        await using var harness = await SearchHarness.StartAsync(_registry);
        var input = TreeInput();
        input = name switch
        {
            "empty-space" => input with { Space = new ParameterSpace([]) },
            "factor" => input with { Factor = 1.5 },
            "learner" => input with { Learner = "xgboost" },
            "parameter" => input with { Space = new ParameterSpace([.. TreeSpace().Parameters, new ParameterDefinition("gamma", ParameterKind.Uniform, 0, 1)]) },
            "min-above-max" => input with { MinResources = "500", MaxResources = 100 },
            "folds" => input with { Folds = 1 },
            "resource" => input with { Resource = "minutes" },
            "asha-factor" => input with { Mode = SearchInput.AshaMode, Factor = 2.5 },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        var result = await harness.RunAsync(HalvingSearchOrchestrator.Name, input);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains(reason, result.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(0, harness.TotalCalls);
    }

    [Fact]
    public async Task MoreFoldsThanRowsOfAClass_FailsBeforeAnyEvaluation()
    {
        var tiny = Path.Combine(_folder, "tiny");
        await TestData.WriteFloatLabelDatasetAsync(tiny, chunks: 1, rows: 60, labelOf: row => row < 3 ? 1 : 0);
        await using var harness = await SearchHarness.StartAsync(_registry);

        var result = await harness.RunAsync(HalvingSearchOrchestrator.Name, TreeInput() with { Dataset = tiny, LabelColumn = "label", Folds = 5 });

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("5 folds need at least 5 rows of every class; class 1 has 3", result.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(0, harness.CallsOf(EvaluateCandidateActivity.Name));
    }

    private sealed class SpaceComparer : IEqualityComparer<ParameterSpace>
    {
        public static readonly SpaceComparer Instance = new();

        public bool Equals(ParameterSpace? x, ParameterSpace? y) => x!.Parameters.SequenceEqual(y!.Parameters);

        public int GetHashCode(ParameterSpace obj) => obj.Parameters.Count;
    }
}
