using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Workflows.ML.Data;
using Workflows.Functions.Orchestration;

namespace Workflows.Functions.Search;

/// <summary>
/// Reads the search's dataset once (the worker keeps it for the evaluations) and reports its rows, features and rows
/// per class, and names the folder of the search's checkpoints. Fails with a <see cref="DatasetException"/> whose
/// message says what is wrong (no such dataset, no label column, a label that is not a class index).
/// </summary>
public sealed class DescribeSearchDataActivity(IDatasetStorage storage, SearchDataLoader loader) : TaskActivity<SearchDataRef, SearchDataSummary>
{
    /// <summary>Registered name.</summary>
    public const string Name = "SearchDescribeData";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<SearchDataSummary> RunFunctionAsync([ActivityTrigger] SearchDataRef input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<DescribeSearchDataActivity, SearchDataRef, SearchDataSummary>(Name, input, instanceId, executionContext);

    /// <summary>Folder, next to or inside the dataset, of the searches' checkpoints (readers list only .parquet/.csv files).</summary>
    public const string SearchFolderName = "_search";

    /// <inheritdoc />
    public override async Task<SearchDataSummary> RunAsync(TaskActivityContext context, SearchDataRef input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        storage.ValidatePath(input.Dataset, "dataset");
        var data = await loader.LoadAsync(input, CancellationToken.None);
        var counts = new int[data.ClassCount];
        foreach (var label in data.Labels)
        {
            counts[label]++;
        }

        var root = input.Dataset;
        var searches = root.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) || root.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)
            ? root + "." + SearchFolderName
            : storage.Combine(root, SearchFolderName);
        var runFolder = storage.Combine(searches, SafeName(context.InstanceId));
        return new SearchDataSummary(data.RowCount, data.FeatureCount, counts, runFolder);
    }

    private static string SafeName(string instanceId) =>
        new([.. instanceId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_')]);
}
