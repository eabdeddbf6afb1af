using Workflows.ML.Search.Space;

namespace Workflows.ML.Search.Halving;

/// <summary>A candidate's test scores in one iteration, one per cross-validation fold (higher is better; NaN for a failed fit).</summary>
/// <param name="Candidate">The candidate.</param>
/// <param name="FoldScores">Test score per fold, at least one.</param>
public sealed record CandidateScore(Candidate Candidate, IReadOnlyList<double> FoldScores)
{
    /// <summary>Mean test score over the folds (NaN when any fold is NaN, as numpy's mean).</summary>
    public double Mean
    {
        get
        {
            CheckFolds();
            double sum = 0;
            foreach (var score in FoldScores)
            {
                sum += score;
            }

            return sum / FoldScores.Count;
        }
    }

    /// <summary>Population standard deviation of the fold scores (numpy's <c>std</c>, ddof 0).</summary>
    public double Std
    {
        get
        {
            var mean = Mean;
            double sum = 0;
            foreach (var score in FoldScores)
            {
                sum += (score - mean) * (score - mean);
            }

            return Math.Sqrt(sum / FoldScores.Count);
        }
    }

    private void CheckFolds()
    {
        if (FoldScores is null || FoldScores.Count == 0)
        {
            throw new ArgumentException($"Candidate {Candidate.Index} has no fold scores.");
        }
    }
}
