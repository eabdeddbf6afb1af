using Microsoft.DurableTask;
using Workflows.ML.Search;
using Workflows.ML.Search.Halving;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Search;

/// <summary>
/// The baseline of <see cref="HalvingSearchOrchestrator"/>: the same sampled candidates (<c>nCandidates</c> of the
/// seed) all evaluated at the most resource (scikit-learn's <c>RandomizedSearchCV</c>), in one round, with the same
/// output shape.
/// </summary>
public static class RandomSearchOrchestrator
{
    /// <summary>Registered name.</summary>
    public const string Name = "RandomSearch";

    /// <summary>Validates the input before any activity, evaluates every candidate at the max resource, and refits and registers the winner when a model name is given.</summary>
    [Function(Name)]
    public static async Task<SearchOutput> RunAsync([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<SearchInput>();
        ArgumentNullException.ThrowIfNull(input);
        input.Validate(SearchInput.RandomMode);
        var (data, max) = await SearchSteps.PrepareAsync(context, input);
        var candidates = SearchSteps.Candidates(input, input.FixedCandidates!.Value, new Resource(input.ResourceKind, max));
        var (round, _) = await SearchSteps.EvaluateRoundAsync(
            context, input, SearchInput.RandomMode, data, 0, max, candidates, new Dictionary<int, string>(), []);
        var results = CvResults.Build([round]);
        var best = results.Best;
        var model = await SearchSteps.RefitAsync(
            context, input, SearchInput.RandomMode, data, max, best.Params, SearchOutputs.Finite(best.MeanTestScore), results.NCandidates, results.NResources, best.CandidateIndex);
        return new SearchOutput(
            SearchInput.RandomMode,
            CvResultsTable.From(results),
            results.NCandidates,
            results.NResources,
            best.CandidateIndex,
            best.Params,
            SearchOutputs.Finite(best.MeanTestScore),
            best.NResources,
            round.Scores.Count,
            Model: model);
    }
}
