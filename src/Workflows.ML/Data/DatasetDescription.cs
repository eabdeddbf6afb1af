namespace Workflows.ML.Data;

/// <summary>
/// The schema and chunk list of a dataset, found once by <see cref="DatasetReader.DescribeAsync"/> and then handed
/// to every reader so that chunk reads do not list or scan the dataset again.
/// </summary>
/// <param name="Root">The dataset path as given in <see cref="DatasetSpec.Path"/>.</param>
/// <param name="Format">Storage format.</param>
/// <param name="Columns">Numeric feature columns (the label column excluded).</param>
/// <param name="LabelColumn">Name of the label column, or <see langword="null"/>.</param>
/// <param name="Chunks">Every chunk, in dataset order.</param>
public sealed record DatasetDescription(
    string Root,
    DatasetFormat Format,
    IReadOnlyList<DatasetColumn> Columns,
    string? LabelColumn,
    IReadOnlyList<ChunkLocation> Chunks)
{
    /// <summary>Columns that exist but cannot be features (strings, dates, nested); named in errors.</summary>
    public IReadOnlyList<string> NonNumericColumns { get; init; } = [];

    /// <summary>Total number of rows.</summary>
    public long RowCount
    {
        get
        {
            long rows = 0;
            foreach (var chunk in Chunks)
            {
                rows += chunk.Rows;
            }

            return rows;
        }
    }
}
