namespace Workflows.ML.Search.Halving;

/// <summary>The scores of one successive-halving iteration.</summary>
/// <param name="Iteration">The iteration, from 0.</param>
/// <param name="NResources">Resources each candidate got.</param>
/// <param name="Scores">One entry per candidate evaluated, in the order the table should list them.</param>
public sealed record HalvingRound(int Iteration, int NResources, IReadOnlyList<CandidateScore> Scores);
