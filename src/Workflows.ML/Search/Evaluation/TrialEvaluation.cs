namespace Workflows.ML.Search.Evaluation;

/// <summary>The result of an evaluation: a test score and, for resumable learners, a checkpoint per fold.</summary>
/// <param name="FoldScores">Test score per fold, higher is better.</param>
/// <param name="FoldCheckpoints">Each fold model's checkpoint (null entries for learners that cannot resume).</param>
public sealed record TrialEvaluation(IReadOnlyList<double> FoldScores, IReadOnlyList<byte[]?> FoldCheckpoints)
{
    /// <summary>Mean of the fold scores.</summary>
    public double MeanScore => FoldScores.Average();
}
