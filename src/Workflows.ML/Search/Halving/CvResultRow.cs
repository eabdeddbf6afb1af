using Workflows.ML.Search.Space;

namespace Workflows.ML.Search.Halving;

/// <summary>One row of <see cref="CvResults"/>: a candidate in an iteration, with scikit-learn's <c>cv_results_</c> columns.</summary>
/// <param name="Iter">The iteration (<c>iter</c>).</param>
/// <param name="NResources">Resources used (<c>n_resources</c>).</param>
/// <param name="CandidateIndex">The candidate's index in the sample.</param>
/// <param name="Params">The candidate's parameters (<c>params</c>).</param>
/// <param name="MeanTestScore">Mean over the folds (<c>mean_test_score</c>).</param>
/// <param name="StdTestScore">Population standard deviation over the folds (<c>std_test_score</c>).</param>
/// <param name="RankTestScore">Rank over all rows of all iterations, 1 = best, ties sharing the lowest rank, NaN ranked with the worst (<c>rank_test_score</c>).</param>
/// <param name="SplitTestScores">Score per fold (<c>split{k}_test_score</c>).</param>
public sealed record CvResultRow(
    int Iter,
    int NResources,
    int CandidateIndex,
    IReadOnlyDictionary<string, ParameterValue> Params,
    double MeanTestScore,
    double StdTestScore,
    int RankTestScore,
    IReadOnlyList<double> SplitTestScores);
