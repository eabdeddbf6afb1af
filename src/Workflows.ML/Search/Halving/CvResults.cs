namespace Workflows.ML.Search.Halving;

/// <summary>
/// The result table of a successive-halving search, as scikit-learn's <c>cv_results_</c> (one row per candidate and
/// iteration) with its <c>n_candidates_</c> and <c>n_resources_</c> lists and the best row.
/// </summary>
/// <param name="Rows">The rows, iteration by iteration in the order the rounds listed them.</param>
/// <param name="NCandidates">Candidates evaluated per iteration.</param>
/// <param name="NResources">Resources per iteration.</param>
/// <param name="BestIndex">The row of the best candidate: the highest mean score of the last iteration, the first such row on a tie, the last iteration's first row when all its scores are NaN.</param>
public sealed record CvResults(IReadOnlyList<CvResultRow> Rows, IReadOnlyList<int> NCandidates, IReadOnlyList<int> NResources, int BestIndex)
{
    /// <summary>The best row (scikit-learn's <c>best_index_</c> row; <c>best_params_</c> is its <see cref="CvResultRow.Params"/>).</summary>
    public CvResultRow Best => Rows[BestIndex];

    /// <summary>
    /// Builds the table from the rounds, which must be iterations 0, 1, 2, … in order. Ranks follow scikit-learn's
    /// <c>rankdata(-mean, method='min')</c> over all rows, a NaN mean counted as below every number; the best row
    /// follows its <c>_select_best_index</c> (the first maximum of the last iteration; row 0 of it when all are NaN).
    /// </summary>
    public static CvResults Build(IReadOnlyList<HalvingRound> rounds)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        if (rounds.Count == 0)
        {
            throw new ArgumentException("There are no rounds to tabulate.", nameof(rounds));
        }

        var scores = new List<(HalvingRound Round, CandidateScore Score)>();
        for (var i = 0; i < rounds.Count; i++)
        {
            if (rounds[i].Iteration != i)
            {
                throw new ArgumentException($"Round {i} is labelled iteration {rounds[i].Iteration}; rounds must be iterations 0, 1, 2, … in order.", nameof(rounds));
            }

            if (rounds[i].Scores.Count == 0)
            {
                throw new ArgumentException($"Iteration {i} has no scores.", nameof(rounds));
            }

            scores.AddRange(rounds[i].Scores.Select(score => (rounds[i], score)));
        }

        var means = scores.Select(s => s.Score.Mean).ToArray();
        var rows = new CvResultRow[scores.Count];
        for (var r = 0; r < rows.Length; r++)
        {
            var (round, score) = scores[r];
            rows[r] = new CvResultRow(
                round.Iteration,
                round.NResources,
                score.Candidate.Index,
                score.Candidate.Parameters,
                means[r],
                score.Std,
                MinRank(means, r),
                score.FoldScores);
        }

        var lastStart = rows.Length - rounds[^1].Scores.Count;
        var best = lastStart;
        for (var r = lastStart; r < rows.Length; r++)
        {
            if (!double.IsNaN(means[r]) && (double.IsNaN(means[best]) || means[r] > means[best]))
            {
                best = r;
            }
        }

        return new CvResults(rows, [.. rounds.Select(r => r.Scores.Count)], [.. rounds.Select(r => r.NResources)], best);
    }

    /// <summary>1 + the number of rows scoring strictly better than row <paramref name="row"/> (NaN below every number).</summary>
    private static int MinRank(double[] means, int row)
    {
        var better = 0;
        foreach (var mean in means)
        {
            if (!double.IsNaN(mean) && (double.IsNaN(means[row]) || mean > means[row]))
            {
                better++;
            }
        }

        return better + 1;
    }
}
