using System.Text.Json;
using Workflows.ML.Search;
using Workflows.ML.Search.Halving;
using Workflows.ML.Search.Space;
using Xunit;

namespace Workflows.ML.Tests.Search;

/// <summary>
/// The schedules scikit-learn documents, reproduced. "User guide" is the section "Searching for optimal parameters
/// with successive halving" of scikit-learn's grid_search.rst; the docstring is HalvingRandomSearchCV's.
/// </summary>
public sealed class SuccessiveHalvingTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public void Plan_UserGuide_ExhaustingTheResources_MinResources20()
    {
        // User guide, "Exhausting the available resources": 6 candidates (kernel × C), cv=5, factor=2,
        // min_resources=20 on n_samples=1000 → sh.n_resources_ == [20, 40, 80].
        var plan = SuccessiveHalving.Plan(new HalvingOptions(1000, Factor: 2, MinResources: "20", NCandidates: "6"), nSplits: 5, nClasses: 2);

        Assert.Equal([20, 40, 80], plan.NResources);
        Assert.Equal([6, 3, 2], plan.NCandidatesPerIteration);
        Assert.Equal(3, plan.NRequiredIterations);
        Assert.Equal(6, plan.NPossibleIterations);
    }

    [Fact]
    public void Plan_UserGuide_MinResourcesExhaust()
    {
        // User guide: the same search with min_resources='exhaust' → sh.n_resources_ == [250, 500, 1000]
        // ("min_resources was here automatically set to 250").
        var plan = SuccessiveHalving.Plan(new HalvingOptions(1000, Factor: 2, MinResources: "exhaust", NCandidates: "6"), 5, 2);

        Assert.Equal(250, plan.MinResources);
        Assert.Equal([250, 500, 1000], plan.NResources);
    }

    [Fact]
    public void Plan_UserGuide_AggressiveElimination()
    {
        // User guide, "Aggressive elimination of candidates": 6 candidates, cv=5, factor=2, max_resources=40 on a
        // binary problem ('smallest' = 2 · 5 splits · 2 classes = 20).
        // aggressive_elimination=False → n_resources_ [20, 40], n_candidates_ [6, 3];
        // aggressive_elimination=True  → n_resources_ [20, 20, 40], n_candidates_ [6, 3, 2].
        var plain = SuccessiveHalving.Plan(new HalvingOptions(40, Factor: 2, NCandidates: "6"), 5, 2);
        var aggressive = SuccessiveHalving.Plan(new HalvingOptions(40, Factor: 2, NCandidates: "6", AggressiveElimination: true), 5, 2);

        Assert.Equal(20, plain.MinResources);
        Assert.Equal([20, 40], plain.NResources);
        Assert.Equal([6, 3], plain.NCandidatesPerIteration);
        Assert.Equal([20, 20, 40], aggressive.NResources);
        Assert.Equal([6, 3, 2], aggressive.NCandidatesPerIteration);
    }

    [Fact]
    public void Plan_UserGuide_ResourceIsNEstimators()
    {
        // User guide, "Choosing a resource": a 3 × 3 grid, factor=2, resource='n_estimators', max_resources=30,
        // min_resources='exhaust' → best_estimator_ has n_estimators=24 (the last iteration's resource):
        // min_resources = max(1, 30 // 2^3) = 3, so 3, 6, 12, 24.
        var plan = SuccessiveHalving.Plan(new HalvingOptions(30, Factor: 2, MinResources: "exhaust", NCandidates: "9", Resource: ResourceKind.NEstimators), 5, 2);

        Assert.Equal([3, 6, 12, 24], plan.NResources);
        Assert.Equal([9, 5, 3, 2], plan.NCandidatesPerIteration);
    }

    [Fact]
    public void Plan_Docstring_HalvingRandomSearchCV_NCandidatesExhaust()
    {
        // HalvingRandomSearchCV's docstring example: resource='n_estimators', max_resources=10, factor 3 and the
        // defaults min_resources='smallest' (1 for a resource other than n_samples) and n_candidates='exhaust'
        // (10 // 1 = 10 candidates) → best_params_ has n_estimators=9: resources 1, 3, 9.
        var plan = SuccessiveHalving.Plan(new HalvingOptions(10, Resource: ResourceKind.NEstimators), 5, 3);

        Assert.Equal(10, plan.NCandidates);
        Assert.Equal([1, 3, 9], plan.NResources);
        Assert.Equal([10, 4, 2], plan.NCandidatesPerIteration);
        Assert.Equal(1, plan.NRemainingCandidates);
    }

    [Fact]
    public void Plan_UserGuide_CvResultsTable()
    {
        // User guide, "Analyzing results with the cv_results_ attribute": iterations 0..3 with n_resources 125, 250,
        // 500, 1000 (factor 2, min_resources='exhaust', 1000 samples), 3 candidates in iteration 2, 2 in iteration 3,
        // rows 0..19 in all: 10 candidates.
        var plan = SuccessiveHalving.Plan(new HalvingOptions(1000, Factor: 2, MinResources: "exhaust", NCandidates: "10"), 5, 2);

        Assert.Equal([125, 250, 500, 1000], plan.NResources);
        Assert.Equal([10, 5, 3, 2], plan.NCandidatesPerIteration);
        Assert.Equal(20, plan.NCandidatesPerIteration.Sum());
    }

    [Fact]
    public void Plan_UserGuide_SeventyCandidatesTable_KeepsTheCeiling()
    {
        // User guide, "Choosing min_resources and the number of candidates": min_resources=3, factor=2, 70 candidates
        // → n_resources_i 3, 6, 12, 24, 48, 96. Its table divides candidates with floor (70, 35, 17, 8, 4, 2); the
        // code keeps ceil(n_candidates_i / factor), so we (like scikit-learn's code) evaluate 70, 35, 18, 9, 5, 3 and
        // need a 7th iteration, 1 + floor(log2 70) = 7, for the last 2 candidates when the resources allow it.
        var plan = SuccessiveHalving.Plan(new HalvingOptions(192, Factor: 2, MinResources: "3", NCandidates: "70"), 5, 2);

        Assert.Equal([3, 6, 12, 24, 48, 96, 192], plan.NResources);
        Assert.Equal([70, 35, 18, 9, 5, 3, 2], plan.NCandidatesPerIteration);
        Assert.Equal(7, plan.NRequiredIterations);
    }

    [Fact]
    public void Plan_SklearnTestAggressiveElimination()
    {
        // scikit-learn's test_aggressive_elimination: 60 candidates, factor 3, max 180, cv=5, binary → 4 iterations
        // required, 3 possible, n_resources_ [20, 20, 60, 180], one candidate remaining.
        var plan = SuccessiveHalving.Plan(new HalvingOptions(180, NCandidates: "60", AggressiveElimination: true), 5, 2);

        Assert.Equal((4, 3, 4), (plan.NRequiredIterations, plan.NPossibleIterations, plan.NIterations));
        Assert.Equal([20, 20, 60, 180], plan.NResources);
        Assert.Equal([60, 20, 7, 3], plan.NCandidatesPerIteration);
        Assert.Equal(1, plan.NRemainingCandidates);
    }

    [Fact]
    public void Plan_LogarithmsAreComputedAsPython()
    {
        // Python's math.log(243, 3) is 4.999999999999999, so scikit-learn plans 1 + 4 = 5 required iterations for 243
        // candidates, and so do we.
        var plan = SuccessiveHalving.Plan(new HalvingOptions(100_000, MinResources: "1", NCandidates: "243", Resource: ResourceKind.NEstimators), 5, 2);

        Assert.Equal(5, plan.NRequiredIterations);
        Assert.Equal([243, 81, 27, 9, 3], plan.NCandidatesPerIteration);
    }

    [Theory]
    [InlineData(1.5, "smallest", "exhaust", 100, "factor >= 2")]
    [InlineData(3.0, "exhaust", "exhaust", 100, "cannot both be 'exhaust'")]
    [InlineData(3.0, "200", "10", 100, "min_resources_=200 is greater than max_resources_=100")]
    [InlineData(3.0, "smallest", "10", 10, "min_resources_=20 is greater than max_resources_=10")]
    [InlineData(3.0, "few", "10", 100, "min_resources must be")]
    [InlineData(3.0, "smallest", "0", 100, "n_candidates must be")]
    public void Plan_BadOptions_AreClearErrors(double factor, string minResources, string nCandidates, int maxResources, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => SuccessiveHalving.Plan(new HalvingOptions(maxResources, factor, minResources, nCandidates), 5, 2));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_ReadFromJson_WithNamesOrNumbers()
    {
        var options = JsonSerializer.Deserialize<HalvingOptions>(
            """{"maxResources": 1000, "factor": 2, "minResources": 20, "nCandidates": "exhaust", "resource": "NSamples"}""",
            Json)!;

        Assert.Equal(20, options.FixedMinResources);
        Assert.Null(options.FixedCandidates);
        Assert.Contains("\"minResources\":20", JsonSerializer.Serialize(options, Json), StringComparison.Ordinal);
    }

    [Fact]
    public void SelectSurvivors_TopByMean_TiesToTheLowerIndex_NaNLast()
    {
        var scores = new[]
        {
            Score(0, 0.6, 0.6),
            Score(1, double.NaN, 0.9),
            Score(2, 0.8, 0.6),
            Score(3, 0.9, 0.9),
            Score(4, 0.6, 0.6),
        };

        Assert.Equal([3, 2, 0], SuccessiveHalving.SelectSurvivors(scores, 3).Select(s => s.Candidate.Index));
        Assert.Equal([3, 2, 0, 4, 1], SuccessiveHalving.SelectSurvivors(scores, 10).Select(s => s.Candidate.Index));
        Assert.Throws<ArgumentException>(() => SuccessiveHalving.SelectSurvivors([Score(1, 0.5), Score(1, 0.6)], 1));
    }

    [Fact]
    public void CvResults_HasScikitLearnsColumns_RanksAndBest()
    {
        var round0 = new HalvingRound(0, 20, [Score(0, 0.5, 0.7), Score(1, 0.9, 0.9), Score(2, 0.2, 0.4), Score(3, double.NaN, 1)]);
        var round1 = new HalvingRound(1, 60, [Score(1, 0.8, 0.8), Score(0, 0.7, 0.9)]);

        var results = CvResults.Build([round0, round1]);

        Assert.Equal([4, 2], results.NCandidates);
        Assert.Equal([20, 60], results.NResources);
        Assert.Equal([0, 0, 0, 0, 1, 1], results.Rows.Select(r => r.Iter));
        Assert.Equal([20, 20, 20, 20, 60, 60], results.Rows.Select(r => r.NResources));
        Assert.Equal(0.6, results.Rows[0].MeanTestScore, 12);
        Assert.Equal(0.1, results.Rows[0].StdTestScore, 12);

        // Means 0.6, 0.9, 0.3, NaN, 0.8, 0.8 → ranks by 'min': 4, 1, 5, 6, 2, 2.
        Assert.Equal([4, 1, 5, 6, 2, 2], results.Rows.Select(r => r.RankTestScore));

        // The best is the first maximum of the last iteration (not the 0.9 of iteration 0).
        Assert.Equal(4, results.BestIndex);
        Assert.Equal(1, results.Best.CandidateIndex);
        Assert.Equal([0.8, 0.8], results.Best.SplitTestScores);
        Assert.Equal(ParameterValue.Of(1), results.Best.Params["id"]);
    }

    [Fact]
    public void CvResults_RoundsOutOfOrder_AreAnError()
    {
        Assert.Throws<ArgumentException>(() => CvResults.Build([new HalvingRound(1, 20, [Score(0, 0.5)])]));
    }

    [Fact]
    public void Schedule_DrivesASearchToOneCandidate()
    {
        // The loop an orchestrator runs: evaluate, keep the top ceil(n / factor), repeat. Candidate i scores i / 100,
        // so the highest index survives.
        var plan = SuccessiveHalving.Plan(new HalvingOptions(1000, NCandidates: "30", MinResources: "30"), 5, 2);
        var alive = Enumerable.Range(0, plan.NCandidates).ToList();
        var rounds = new List<HalvingRound>();
        for (var i = 0; i < plan.NIterations; i++)
        {
            Assert.Equal(plan.CandidatesAt(i), alive.Count);
            var scores = alive.Select(c => Score(c, c / 100.0)).ToList();
            rounds.Add(new HalvingRound(i, plan.ResourcesAt(i), scores));
            alive = [.. SuccessiveHalving.SelectSurvivors(scores, plan.KeepAfter(i)).Select(s => s.Candidate.Index)];
        }

        Assert.True(plan.IsLast(plan.NIterations - 1));
        Assert.Equal([30, 90, 270, 810], plan.NResources);
        Assert.Equal(29, CvResults.Build(rounds).Best.CandidateIndex);
    }

    private static CandidateScore Score(int index, params double[] folds) =>
        new(new Candidate(index, new Dictionary<string, ParameterValue> { ["id"] = ParameterValue.Of(index) }), folds);
}
