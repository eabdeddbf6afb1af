using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Workflows.Functions.Orchestration;
using Workflows.ML.Data;

namespace Workflows.Functions.Datasets;

/// <summary>
/// Writes a synthetic classification dataset as a folder of Parquet files: one <see cref="GenerateDatasetChunkActivity"/>
/// per chunk, all in parallel, every chunk drawn from the one model the seed defines. customStatus reports chunks
/// written out of the total. A destination outside what the dataset storage may reach fails the run before any chunk
/// is scheduled; so does one that holds files, unless the input sets <c>overwrite</c> (see
/// <see cref="PrepareDestinationActivity"/>).
/// </summary>
public sealed class GenerateDatasetOrchestrator(IDatasetStorage storage) : TaskOrchestrator<GenerateDatasetInput, GenerateDatasetOutput>
{
    /// <summary>Registered name.</summary>
    public const string Name = "GenerateDataset";

    /// <summary>The orchestrator as a function: <see cref="TaskFunctions.RunOrchestratorAsync{TOrchestrator, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<GenerateDatasetOutput> RunFunctionAsync([OrchestrationTrigger] TaskOrchestrationContext context, FunctionContext executionContext) =>
        TaskFunctions.RunOrchestratorAsync<GenerateDatasetOrchestrator, GenerateDatasetInput, GenerateDatasetOutput>(context, executionContext);

    public override async Task<GenerateDatasetOutput> RunAsync(TaskOrchestrationContext context, GenerateDatasetInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input, "input (rows, features, informative, chunkRows, seed, destination)");
        input.Validate();
        storage.ValidatePath(input.Destination, "destination");
        await context.CallActivityAsync<int>(PrepareDestinationActivity.Name, input);
        var chunks = input.ChunkCount;
        var pending = new List<Task<GeneratedChunkFile>>(chunks);
        for (var c = 0; c < chunks; c++)
        {
            var rows = (int)Math.Min(input.ChunkRows, input.Rows - ((long)c * input.ChunkRows));
            pending.Add(context.CallActivityAsync<GeneratedChunkFile>(GenerateDatasetChunkActivity.Name, new GenerateChunkInput(input, c, rows)));
        }

        var progress = new FanInProgress(context, "generate", chunks);
        long bytes = 0;
        foreach (var file in await progress.WhenAllAsync(pending, static f => f.Rows))
        {
            bytes += file.Bytes;
        }

        return new GenerateDatasetOutput(input.Destination, input.Rows, chunks, input.Features, bytes);
    }
}
