using Workflows.ML.Data;

namespace Workflows.Functions.Statistics;

/// <summary>Output of <see cref="DescribeDatasetActivity"/>: the chunk list and the resolved columns.</summary>
/// <param name="Dataset">Schema and chunks.</param>
/// <param name="Columns">The columns to describe, checked to exist and be numeric.</param>
public sealed record DescribedDataset(DatasetDescription Dataset, IReadOnlyList<DatasetColumn> Columns);
