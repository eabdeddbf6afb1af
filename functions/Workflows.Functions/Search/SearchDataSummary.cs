namespace Workflows.Functions.Search;

/// <summary>What <see cref="DescribeSearchDataActivity"/> finds: the facts the search's data-dependent checks and plan need.</summary>
/// <param name="Rows">Rows of the dataset.</param>
/// <param name="FeatureCount">Feature columns.</param>
/// <param name="ClassCounts">Rows per class, index = class (a class may have 0 rows).</param>
/// <param name="RunFolder">The folder the search writes its checkpoints into.</param>
public sealed record SearchDataSummary(int Rows, int FeatureCount, IReadOnlyList<int> ClassCounts, string RunFolder)
{
    /// <summary>Classes with at least one row.</summary>
    public int PresentClasses => ClassCounts.Count(count => count > 0);
}
