namespace Workflows.ML.Canary;

/// <summary>The result of a two-sided Mann–Whitney U test of a candidate sample against a stable one.</summary>
/// <param name="CandidateCount">Values in the candidate sample (n1).</param>
/// <param name="StableCount">Values in the stable sample (n2).</param>
/// <param name="U">The candidate's U statistic, R1 − n1(n1 + 1)/2 (scipy's <c>statistic</c> with the candidate first).</param>
/// <param name="Z">
/// The standardized statistic with the continuity correction, signed: positive when the candidate's values tend to be
/// larger; 0 when every value is tied.
/// </param>
/// <param name="PValue">Two-sided p-value of the normal approximation.</param>
/// <param name="Shift">The Hodges–Lehmann estimate of the shift, candidate minus stable: the median of all pairwise differences.</param>
public sealed record MannWhitneyResult(int CandidateCount, int StableCount, double U, double Z, double PValue, double Shift);
