using Workflows.ML.Data;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Statistics;

/// <summary>
/// Lists the dataset's chunks and checks the requested columns once, so the fan-out activities neither list
/// storage nor discover a missing or non-numeric column one by one, and reads, from the same footers, the columns'
/// ranges over the requested chunks (Parquet row-group statistics). Fails with a <see cref="DatasetException"/>
/// for a missing or empty dataset, an unknown or non-numeric column.
/// </summary>
public sealed class DescribeDatasetActivity(DatasetReader reader)
{
    /// <summary>Registered name.</summary>
    public const string Name = "DescribeDataset";

    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token.</summary>
    [Function(Name)]
    public async Task<DescribedDataset> RunAsync([ActivityTrigger] DescribeDatasetInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var (dataset, ranges) = await reader.DescribeWithFooterRangesAsync(
            new DatasetSpec(input.Dataset, input.LabelColumn, input.CsvChunkRows), context.CancellationToken);
        var columns = DatasetReader.ResolveColumns(dataset, input.Columns);
        if (columns.Count == 0)
        {
            throw new DatasetException($"dataset '{input.Dataset}' has no numeric feature columns.");
        }

        // Positions that do not exist get no ranges; the orchestrator checks them and fails naming them.
        var valid = input.Chunks is null || input.Chunks.All(p => p >= 0 && p < dataset.Chunks.Count);
        return new DescribedDataset(dataset, columns, valid ? ranges.Merge(input.Chunks, columns) : null);
    }
}
