using Workflows.ML.Data;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Datasets;

/// <summary>
/// The first step of <see cref="GenerateDatasetOrchestrator"/>, before any chunk is written: a destination that holds
/// any file is refused unless the input sets <c>overwrite</c>, and then every file directly in it is deleted (nothing
/// in folders under it). Its result is in history, so a run that crashed after it (old files deleted, some chunks
/// written) replays it and never refuses its own partial output.
/// </summary>
public sealed class PrepareDestinationActivity(IDatasetStorage storage)
{
    /// <summary>Registered name.</summary>
    public const string Name = "PrepareDestination";

    /// <summary>Returns how many files were deleted.</summary>
    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token.</summary>
    [Function(Name)]
    public async Task<int> RunAsync([ActivityTrigger] GenerateDatasetInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var files = await storage.ListFolderAsync(input.Destination, context.CancellationToken);
        if (files.Count == 0)
        {
            return 0;
        }

        if (!input.Overwrite)
        {
            throw new DatasetException(
                $"destination '{input.Destination}' is not empty ({files.Count} files); GenerateDataset writes only into an empty folder unless the input sets overwrite: true, which replaces the folder's files.");
        }

        foreach (var file in files)
        {
            await storage.DeleteAsync(file, context.CancellationToken);
        }

        return files.Count;
    }
}
