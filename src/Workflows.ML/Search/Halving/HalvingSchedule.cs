namespace Workflows.ML.Search.Halving;

/// <summary>
/// A successive-halving plan, computed before any evaluation exactly as scikit-learn's <c>_run_search</c> computes it:
/// how many candidates, how many iterations, and the resources and candidates of each iteration. Iteration <c>i</c>
/// evaluates <see cref="CandidatesAt"/> candidates with <see cref="ResourcesAt"/> each and keeps
/// <see cref="KeepAfter"/> of them, <c>ceil(n_candidates_i / factor)</c>.
/// </summary>
/// <param name="Factor">The halving factor.</param>
/// <param name="NCandidates">Candidates in the first iteration.</param>
/// <param name="MinResources">Resources of the first iteration (scikit-learn's <c>min_resources_</c>).</param>
/// <param name="MaxResources">The cap on any iteration's resources (<c>max_resources_</c>).</param>
/// <param name="NRequiredIterations"><c>1 + floor(log(n_candidates, factor))</c>: iterations until at most <c>factor</c> candidates remain.</param>
/// <param name="NPossibleIterations"><c>1 + floor(log(max_resources // min_resources, factor))</c>: iterations the resources allow.</param>
/// <param name="NIterations">Iterations run: the required ones with aggressive elimination, else the smaller of the two.</param>
/// <param name="NResources">Resources per iteration (scikit-learn's <c>n_resources_</c>).</param>
/// <param name="NCandidatesPerIteration">Candidates per iteration (scikit-learn's <c>n_candidates_</c>).</param>
public sealed record HalvingSchedule(
    double Factor,
    int NCandidates,
    int MinResources,
    int MaxResources,
    int NRequiredIterations,
    int NPossibleIterations,
    int NIterations,
    IReadOnlyList<int> NResources,
    IReadOnlyList<int> NCandidatesPerIteration)
{
    /// <summary>Resources each candidate of iteration <paramref name="iteration"/> gets.</summary>
    public int ResourcesAt(int iteration) => NResources[CheckIteration(iteration)];

    /// <summary>Candidates iteration <paramref name="iteration"/> evaluates.</summary>
    public int CandidatesAt(int iteration) => NCandidatesPerIteration[CheckIteration(iteration)];

    /// <summary>Candidates kept after iteration <paramref name="iteration"/>: <c>ceil(n_candidates_i / factor)</c>.</summary>
    public int KeepAfter(int iteration) => SuccessiveHalving.Keep(CandidatesAt(iteration), Factor);

    /// <summary>True for the last iteration, whose best candidate is the search's result.</summary>
    public bool IsLast(int iteration) => CheckIteration(iteration) == NIterations - 1;

    /// <summary>Candidates left after the last iteration (scikit-learn's <c>n_remaining_candidates_</c>).</summary>
    public int NRemainingCandidates => KeepAfter(NIterations - 1);

    private int CheckIteration(int iteration)
    {
        if (iteration < 0 || iteration >= NIterations)
        {
            throw new ArgumentOutOfRangeException(nameof(iteration), iteration, $"The schedule has iterations 0..{NIterations - 1}.");
        }

        return iteration;
    }
}
