namespace Workflows.ML.Search.Splits;

/// <summary>
/// A stratified subsample of n rows (the <c>n_samples</c> resource of successive halving): each class gets
/// <c>floor(n · rows_c / rows)</c> rows, the rows left over go to the classes with the largest remainders (ties to
/// the lower class), and each class's rows are taken from its own shuffle of the seed.
/// </summary>
public static class StratifiedSubsample
{
    private const ulong Purpose = 0x5AB5UL;

    /// <summary>The chosen row indices, ascending. Throws <see cref="ArgumentException"/> unless 1 &lt;= n &lt;= rows.</summary>
    public static int[] Select(ReadOnlySpan<int> labels, int n, long seed)
    {
        if (n < 1 || n > labels.Length)
        {
            throw new ArgumentException($"A subsample of {n} rows is impossible from {labels.Length} rows (1 <= n <= rows).", nameof(n));
        }

        var groups = ClassRows.Shuffled(labels, seed, Purpose);
        var quotas = new int[groups.Length];
        var remainders = new long[groups.Length];
        var assigned = 0;
        for (var c = 0; c < groups.Length; c++)
        {
            var exact = (long)n * groups[c].Count;
            quotas[c] = (int)(exact / labels.Length);
            remainders[c] = exact % labels.Length;
            assigned += quotas[c];
        }

        for (; assigned < n; assigned++)
        {
            var best = -1;
            for (var c = 0; c < groups.Length; c++)
            {
                if (quotas[c] < groups[c].Count && (best < 0 || remainders[c] > remainders[best]))
                {
                    best = c;
                }
            }

            quotas[best]++;
            remainders[best] = -1;
        }

        var rows = new List<int>(n);
        for (var c = 0; c < groups.Length; c++)
        {
            rows.AddRange(groups[c].GetRange(0, quotas[c]));
        }

        rows.Sort();
        return [.. rows];
    }
}
