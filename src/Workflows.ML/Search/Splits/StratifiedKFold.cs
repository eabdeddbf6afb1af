namespace Workflows.ML.Search.Splits;

/// <summary>
/// Stratified k-fold: every fold holds each class in the proportion of the whole, deterministically from a seed.
/// Each class's rows are shuffled by their own stream of the seed and dealt round-robin over the folds, the deal
/// continuing from class to class, so fold sizes differ by at most one row and each class's counts by at most one.
/// </summary>
public static class StratifiedKFold
{
    private const ulong Purpose = 0x5F01D5UL;

    /// <summary>
    /// The <paramref name="k"/> folds of <paramref name="labels"/> (class indices 0..C-1). Throws
    /// <see cref="ArgumentException"/> when <paramref name="k"/> &lt; 2 or when it exceeds the rows of the smallest
    /// class present (such a class could not be in every test fold).
    /// </summary>
    public static IReadOnlyList<Fold> Split(ReadOnlySpan<int> labels, int k, long seed)
    {
        if (k < 2)
        {
            throw new ArgumentException($"Stratified k-fold needs k >= 2 (was {k}).", nameof(k));
        }

        var groups = ClassRows.Shuffled(labels, seed, Purpose);
        for (var c = 0; c < groups.Length; c++)
        {
            if (groups[c].Count > 0 && groups[c].Count < k)
            {
                throw new ArgumentException(
                    $"Cannot make {k} stratified folds: class {c} has only {groups[c].Count} row(s); every class needs at least k rows.",
                    nameof(k));
            }
        }

        var foldOf = new int[labels.Length];
        var next = 0;
        foreach (var group in groups)
        {
            foreach (var row in group)
            {
                foldOf[row] = next;
                next = (next + 1) % k;
            }
        }

        var folds = new Fold[k];
        for (var f = 0; f < k; f++)
        {
            var train = new List<int>(labels.Length);
            var test = new List<int>((labels.Length / k) + 1);
            for (var row = 0; row < labels.Length; row++)
            {
                (foldOf[row] == f ? test : train).Add(row);
            }

            folds[f] = new Fold(train, test);
        }

        return folds;
    }
}
