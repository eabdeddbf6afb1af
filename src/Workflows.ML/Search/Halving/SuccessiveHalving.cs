namespace Workflows.ML.Search.Halving;

/// <summary>
/// Successive halving with the semantics of scikit-learn's <c>HalvingRandomSearchCV</c>, as pure functions an
/// orchestrator calls between rounds: <see cref="Plan"/> before the first, <see cref="SelectSurvivors"/> after each,
/// <see cref="CvResults.Build"/> at the end.
/// </summary>
public static class SuccessiveHalving
{
    /// <summary>
    /// The schedule for <paramref name="options"/> on data cross-validated in <paramref name="nSplits"/> folds with
    /// <paramref name="nClasses"/> classes. Mirrors scikit-learn: <c>'smallest'</c> is <c>2 · n_splits · n_classes</c>
    /// for <see cref="ResourceKind.NSamples"/> (1 for other resources); <c>n_candidates='exhaust'</c> is
    /// <c>max_resources // min_resources</c>; <c>min_resources='exhaust'</c> raises the minimum to
    /// <c>max_resources // factor^(n_required_iterations − 1)</c>; iteration <c>i</c> gets
    /// <c>min(int(factor^p · min_resources), max_resources)</c> with <c>p = i</c>, or with aggressive elimination
    /// <c>p = max(0, i − n_required_iterations + n_possible_iterations)</c>. The logarithms are computed as Python's
    /// <c>math.log(x, base)</c> computes them, <c>ln x / ln base</c>, so the iteration counts match scikit-learn's
    /// even where that quotient rounds below an exact power.
    /// </summary>
    public static HalvingSchedule Plan(HalvingOptions options, int nSplits, int nClasses)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (nSplits < 2)
        {
            throw new ArgumentException($"Cross-validation needs at least 2 splits (was {nSplits}).", nameof(nSplits));
        }

        if (nClasses < 2)
        {
            throw new ArgumentException($"Classification needs at least 2 classes (was {nClasses}).", nameof(nClasses));
        }

        var factor = options.Factor;
        var minResources = options.FixedMinResources
            ?? (options.Resource == ResourceKind.NSamples ? checked(2 * nSplits * nClasses) : 1);
        var maxResources = options.MaxResources;
        if (minResources > maxResources)
        {
            throw new ArgumentException($"min_resources_={minResources} is greater than max_resources_={maxResources}.");
        }

        var nCandidates = options.FixedCandidates ?? (maxResources / minResources);
        var nRequired = 1 + (int)Math.Floor(Log(nCandidates, factor));
        if (options.MinResources == HalvingOptions.Exhaust)
        {
            minResources = Math.Max(minResources, (int)Math.Floor(maxResources / Math.Pow(factor, nRequired - 1)));
        }

        var nPossible = 1 + (int)Math.Floor(Log(maxResources / minResources, factor));
        var nIterations = options.AggressiveElimination ? nRequired : Math.Min(nPossible, nRequired);

        var resources = new int[nIterations];
        var candidates = new int[nIterations];
        var remaining = nCandidates;
        for (var i = 0; i < nIterations; i++)
        {
            var power = options.AggressiveElimination ? Math.Max(0, i - nRequired + nPossible) : i;
            resources[i] = (int)Math.Min(Math.Pow(factor, power) * minResources, maxResources);
            candidates[i] = remaining;
            remaining = Keep(remaining, factor);
        }

        return new HalvingSchedule(factor, nCandidates, minResources, maxResources, nRequired, nPossible, nIterations, resources, candidates);
    }

    /// <summary>Candidates kept out of <paramref name="candidates"/>: <c>ceil(candidates / factor)</c>.</summary>
    public static int Keep(int candidates, double factor) => (int)Math.Ceiling(candidates / factor);

    /// <summary>
    /// The <paramref name="keep"/> best of one iteration's <paramref name="scores"/>, best first: highest mean test
    /// score, ties to the lower candidate index, NaN means last. scikit-learn breaks ties by numpy's unstable argsort
    /// instead; a fixed rule keeps a replayed search identical.
    /// </summary>
    public static IReadOnlyList<CandidateScore> SelectSurvivors(IReadOnlyList<CandidateScore> scores, int keep)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        var seen = new HashSet<int>();
        foreach (var score in scores)
        {
            if (!seen.Add(score.Candidate.Index))
            {
                throw new ArgumentException($"Candidate {score.Candidate.Index} is scored twice in one iteration.", nameof(scores));
            }
        }

        return [.. scores.OrderBy(score => score, BestFirst).Take(keep)];
    }

    /// <summary>Orders scores best first: higher mean, then lower candidate index; NaN means after all numbers.</summary>
    internal static IComparer<CandidateScore> BestFirst { get; } = Comparer<CandidateScore>.Create((a, b) =>
    {
        var byScore = ScoreOrder.BestFirst(a.Mean, b.Mean);
        return byScore != 0 ? byScore : a.Candidate.Index.CompareTo(b.Candidate.Index);
    });

    private static double Log(int value, double factor) => Math.Log(value) / Math.Log(factor);
}
