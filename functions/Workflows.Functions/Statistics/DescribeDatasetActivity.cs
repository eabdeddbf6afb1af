using Workflows.Durable;
using Workflows.ML.Data;

namespace Workflows.Functions.Statistics;

/// <summary>
/// Lists the dataset's chunks and checks the requested columns once, so the fan-out activities neither list
/// storage nor discover a missing or non-numeric column one by one. Fails with a <see cref="DatasetException"/>
/// for a missing or empty dataset, an unknown or non-numeric column.
/// </summary>
[DurableTask(Name)]
public sealed class DescribeDatasetActivity(IDatasetStorage storage) : TaskActivity<DescribeDatasetInput, DescribedDataset>
{
    /// <summary>Registered name.</summary>
    public const string Name = "DescribeDataset";

    public override async Task<DescribedDataset> RunAsync(TaskActivityContext context, DescribeDatasetInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var dataset = await new DatasetReader(storage).DescribeAsync(new DatasetSpec(input.Dataset, input.LabelColumn, input.CsvChunkRows), context.CancellationToken);
        var columns = DatasetReader.ResolveColumns(dataset, input.Columns);
        if (columns.Count == 0)
        {
            throw new DatasetException($"dataset '{input.Dataset}' has no numeric feature columns.");
        }

        return new DescribedDataset(dataset, columns);
    }
}
