using System.Text.Json.Serialization;
using Workflows.ML.Search.Asha;
using Workflows.ML.Search.Halving;
using Workflows.ML.Search.Space;

namespace Workflows.Functions.Search;

/// <summary>
/// scikit-learn's <c>cv_results_</c>, column by column (one entry per candidate and iteration, in the order the rounds
/// listed them), with its <c>best_index_</c>. A NaN score is written as null.
/// </summary>
/// <param name="Iter">The iteration (<c>iter</c>).</param>
/// <param name="NResources">Resources of the row (<c>n_resources</c>).</param>
/// <param name="Candidate">The candidate's index in the sample.</param>
/// <param name="Params">The candidate's parameters (<c>params</c>).</param>
/// <param name="MeanTestScore">Mean over the folds (<c>mean_test_score</c>).</param>
/// <param name="StdTestScore">Population standard deviation over the folds (<c>std_test_score</c>).</param>
/// <param name="RankTestScore">Rank over all rows, 1 = best, ties sharing the lowest rank (<c>rank_test_score</c>).</param>
/// <param name="SplitTestScores">Column k is scikit-learn's <c>split{k}_test_score</c>.</param>
/// <param name="BestIndex">The best row (<c>best_index_</c>): the first maximum of the last iteration.</param>
public sealed record CvResultsTable(
    [property: JsonPropertyName("iter")] IReadOnlyList<int> Iter,
    [property: JsonPropertyName("n_resources")] IReadOnlyList<int> NResources,
    [property: JsonPropertyName("candidate")] IReadOnlyList<int> Candidate,
    [property: JsonPropertyName("params")] IReadOnlyList<IReadOnlyDictionary<string, ParameterValue>> Params,
    [property: JsonPropertyName("mean_test_score")] IReadOnlyList<double?> MeanTestScore,
    [property: JsonPropertyName("std_test_score")] IReadOnlyList<double?> StdTestScore,
    [property: JsonPropertyName("rank_test_score")] IReadOnlyList<int> RankTestScore,
    [property: JsonPropertyName("split_test_scores")] IReadOnlyList<IReadOnlyList<double?>> SplitTestScores,
    [property: JsonPropertyName("best_index")] int BestIndex)
{
    /// <summary>The columns of <paramref name="results"/>.</summary>
    public static CvResultsTable From(CvResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = results.Rows;
        var folds = rows.Max(row => row.SplitTestScores.Count);
        var splits = new List<IReadOnlyList<double?>>(folds);
        for (var k = 0; k < folds; k++)
        {
            splits.Add([.. rows.Select(row => k < row.SplitTestScores.Count ? SearchOutputs.Finite(row.SplitTestScores[k]) : null)]);
        }

        return new CvResultsTable(
            [.. rows.Select(row => row.Iter)],
            [.. rows.Select(row => row.NResources)],
            [.. rows.Select(row => row.CandidateIndex)],
            [.. rows.Select(row => row.Params)],
            [.. rows.Select(row => SearchOutputs.Finite(row.MeanTestScore))],
            [.. rows.Select(row => SearchOutputs.Finite(row.StdTestScore))],
            [.. rows.Select(row => row.RankTestScore)],
            splits,
            results.BestIndex);
    }
}

/// <summary>One entry of ASHA's rung table in the output.</summary>
/// <param name="Trial">The trial (its candidate index).</param>
/// <param name="Bracket">Its bracket.</param>
/// <param name="Rung">The rung.</param>
/// <param name="Resource">The rung's resource.</param>
/// <param name="Score">The mean fold score; null for NaN.</param>
public sealed record RungRow(int Trial, int Bracket, int Rung, int Resource, double? Score)
{
    /// <summary>The rows of <paramref name="table"/>, in the order they were recorded.</summary>
    public static IReadOnlyList<RungRow> From(RungTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return [.. table.Entries.Select(e => new RungRow(e.Trial, e.Bracket, e.Rung, e.Resource, e.Score is { } score ? SearchOutputs.Finite(score) : null))];
    }
}

/// <summary>Output of a search.</summary>
/// <param name="Mode"><c>halving</c>, <c>asha</c> or <c>random</c>.</param>
/// <param name="CvResults">scikit-learn's <c>cv_results_</c>; for ASHA, rung k is iteration k (the rungs of bracket 0 with scores).</param>
/// <param name="NCandidates">Candidates per iteration (<c>n_candidates_</c>).</param>
/// <param name="NResources">Resources per iteration (<c>n_resources_</c>).</param>
/// <param name="BestCandidate">The winner's candidate index.</param>
/// <param name="BestParams">The winner's parameters (<c>best_params_</c>).</param>
/// <param name="BestScore">The winner's mean cross-validated score (<c>best_score_</c>); null for NaN.</param>
/// <param name="BestResources">The resource the winner was scored with.</param>
/// <param name="Evaluations">Evaluations run (candidate × resource, all folds each).</param>
/// <param name="RungTable">ASHA's rung table; null for the other modes.</param>
/// <param name="Model">The registered refit of the winner, when a model name was given.</param>
public sealed record SearchOutput(
    string Mode,
    CvResultsTable CvResults,
    IReadOnlyList<int> NCandidates,
    IReadOnlyList<int> NResources,
    int BestCandidate,
    IReadOnlyDictionary<string, ParameterValue> BestParams,
    double? BestScore,
    int BestResources,
    int Evaluations,
    IReadOnlyList<RungRow>? RungTable = null,
    SearchModelReference? Model = null);

/// <summary>The live status of a search (<c>customStatus</c>).</summary>
/// <param name="Mode">The mode.</param>
/// <param name="Round">Halving: the iteration running; ASHA: null.</param>
/// <param name="NResources">Halving: the iteration's resource; ASHA: null.</param>
/// <param name="Candidates">Halving: candidates of the iteration; ASHA: trials started.</param>
/// <param name="Completed">Evaluations of the iteration (ASHA: of the search) done.</param>
/// <param name="Running">Evaluations in flight.</param>
/// <param name="Scores">Halving: the iteration's mean scores so far; ASHA: the best so far per rung.</param>
/// <param name="Rounds">Halving: the finished iterations.</param>
public sealed record SearchStatus(
    string Mode,
    int? Round,
    int? NResources,
    int Candidates,
    int Completed,
    int Running,
    IReadOnlyList<ScoreSoFar> Scores,
    IReadOnlyList<RoundSummary> Rounds);

/// <summary>A score in <see cref="SearchStatus"/>.</summary>
/// <param name="Candidate">The candidate (trial).</param>
/// <param name="Resource">The resource it was scored with.</param>
/// <param name="Score">Its mean fold score; null for NaN.</param>
public sealed record ScoreSoFar(int Candidate, int Resource, double? Score);

/// <summary>A finished halving iteration in <see cref="SearchStatus"/>.</summary>
/// <param name="Round">The iteration.</param>
/// <param name="NResources">Its resource.</param>
/// <param name="Candidates">Candidates it evaluated.</param>
/// <param name="BestCandidate">Its best candidate.</param>
/// <param name="BestScore">That candidate's mean score; null for NaN.</param>
/// <param name="Kept">The candidates kept for the next iteration.</param>
public sealed record RoundSummary(int Round, int NResources, int Candidates, int BestCandidate, double? BestScore, IReadOnlyList<int> Kept);

/// <summary>Shared helpers of the search outputs.</summary>
public static class SearchOutputs
{
    /// <summary><paramref name="value"/>, or null for NaN or an infinity (JSON has no such numbers).</summary>
    public static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
