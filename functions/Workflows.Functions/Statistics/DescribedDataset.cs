using Workflows.ML.Data;

namespace Workflows.Functions.Statistics;

/// <summary>Output of <see cref="DescribeDatasetActivity"/>: the chunk list, the resolved columns and their footer ranges.</summary>
/// <param name="Dataset">Schema and chunks.</param>
/// <param name="Columns">The columns to describe, checked to exist and be numeric.</param>
/// <param name="FooterRanges">
/// Per column of <paramref name="Columns"/> its range over the selected chunks as the Parquet footers state it (see
/// <see cref="ML.Data.FooterRanges.Merge"/>; null for a column without one, every column of a CSV dataset). <see langword="null"/>
/// when the chunk positions asked for do not all exist (the orchestrator fails naming them) and in histories written
/// before footer ranges were read: the statistics then take two passes, as they did.
/// </param>
public sealed record DescribedDataset(DatasetDescription Dataset, IReadOnlyList<DatasetColumn> Columns, IReadOnlyList<ColumnRange?>? FooterRanges = null);
