using Microsoft.Azure.Functions.Worker;
using System.Globalization;
using Microsoft.DurableTask;
using Workflows.Functions.Statistics;
using Workflows.ML.Data;
using Workflows.ML.Training;
using Workflows.Functions.Orchestration;

namespace Workflows.Functions.Training;

/// <summary>
/// Trains logistic regression epoch after epoch over a dataset too big for memory. Per epoch: one activity streams
/// every chunk (K = 1), or K activities train disjoint chunk subsets from the same start and an activity merges them
/// by weighted averaging; then the holdout is scored. Activities exchange checkpoint paths, never weights, and each
/// epoch starts from the previous epoch's checkpoint, so a crash mid-epoch re-runs only that epoch's activities and
/// gives the same model as an uninterrupted run. Ends by exporting the best epoch to ONNX and registering it.
/// </summary>
public sealed class EpochTrainingOrchestrator(IDatasetStorage storage) : TaskOrchestrator<EpochTrainingInput, EpochTrainingOutput>
{
    /// <summary>Registered name.</summary>
    public const string Name = "EpochTraining";

    /// <summary>The orchestrator as a function: <see cref="TaskFunctions.RunOrchestratorAsync{TOrchestrator, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<EpochTrainingOutput> RunFunctionAsync([OrchestrationTrigger] TaskOrchestrationContext context, FunctionContext executionContext) =>
        TaskFunctions.RunOrchestratorAsync<EpochTrainingOrchestrator, EpochTrainingInput, EpochTrainingOutput>(context, executionContext);

    public override async Task<EpochTrainingOutput> RunAsync(TaskOrchestrationContext context, EpochTrainingInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input, "input (dataset, labelColumn, modelName, holdout, epochs, parallelism...)");
        input.Validate();
        input.ValidatePaths(storage);
        var curve = new List<EpochMetrics>();
        SetStatus(context, "statistics", 0, input.Epochs, curve);
        var statsArtifact = input.StatsArtifact ?? (await context.CallSubOrchestratorAsync<ChunkedStatisticsOutput>(
            ChunkedStatisticsOrchestrator.Name,
            new ChunkedStatisticsInput(
                input.Dataset, input.LabelColumn, input.Features, HistogramBins: 0, Quantiles: [], ChunksPerActivity: 1, input.CsvChunkRows,
                Chunks: await TrainingChunksAsync(context, input)))).ArtifactPath;

        var runId = context.NewGuid().ToString("N");
        var plan = await context.CallActivityAsync<TrainingPlan>(PrepareTrainingActivity.Name, new PrepareTrainingInput(input, statsArtifact, runId));
        var options = input.ToOptions(plan.Features.Count, plan.ClassCount);
        var checkpoints = new List<string>(input.Epochs);
        string? previous = null;
        var stoppedEarly = false;
        for (var epoch = 0; epoch < input.Epochs; epoch++)
        {
            SetStatus(context, "training", epoch, input.Epochs, curve);
            var fileName = string.Create(CultureInfo.InvariantCulture, $"epoch-{epoch + 1}.json");
            var checkpoint = input.Parallelism == 1
                ? await context.CallActivityAsync<string>(TrainEpochActivity.Name, WorkerInput(plan, options, epoch, previous, EpochPlan.ChunkOrder(options.Seed, epoch, plan.Train.Chunks.Count), fileName))
                : await DataParallelEpochAsync(context, plan, options, epoch, previous, input.Parallelism, fileName);

            SetStatus(context, "evaluating", epoch, input.Epochs, curve);
            var metrics = await context.CallActivityAsync<EpochMetrics>(
                EvaluateHoldoutActivity.Name, new EvaluateHoldoutInput(plan.Holdout, plan.HoldoutFeatures, plan.StatsArtifact, options, checkpoint, epoch + 1, plan.RunFolder));
            curve.Add(metrics);
            checkpoints.Add(checkpoint);
            previous = checkpoint;
            if (epoch + 1 < input.Epochs && EarlyStopping.ShouldStop(curve, input.Patience))
            {
                stoppedEarly = true;
                break;
            }
        }

        var best = EarlyStopping.Best(curve)!;
        SetStatus(context, "registering", curve.Count, input.Epochs, curve);
        var bestCheckpoint = checkpoints[best.Epoch - 1];
        var holdout = input.Holdout ?? string.Create(
            CultureInfo.InvariantCulture,
            $"{plan.Holdout.Chunks.Count} of {plan.Holdout.Chunks.Count + plan.Train.Chunks.Count} chunks (holdoutFraction {input.HoldoutFraction}), chosen by seed {input.Seed}");
        var registered = await context.CallActivityAsync<RegisteredModelReference>(
            RegisterModelActivity.Name,
            new RegisterModelInput(input.ModelName, input.Dataset, bestCheckpoint, plan.Features, plan.StatsArtifact, options, best, input.ToLineageParameters(holdout, plan.HoldoutChunks), plan.RunFolder,
                $"{context.InstanceId}/{context.NewGuid():N}", plan.Holdout, plan.HoldoutFeatures));
        SetStatus(context, "done", curve.Count, input.Epochs, curve);
        return new EpochTrainingOutput(input.ModelName, registered.Version, registered.ArtifactPath, bestCheckpoint, best.Epoch, stoppedEarly, plan.StatsArtifact, curve, plan.HoldoutChunks);
    }

    /// <summary>
    /// With a holdout fraction, the chunk positions left for training, so that the statistics that standardize the
    /// features are computed without the held-out rows (PrepareTraining makes the same seeded choice); null with a
    /// holdout dataset, or when the dataset has too few chunks to split (PrepareTraining then fails, saying so).
    /// </summary>
    private static async Task<IReadOnlyList<int>?> TrainingChunksAsync(TaskOrchestrationContext context, EpochTrainingInput input)
    {
        if (input.Holdout is not null)
        {
            return null;
        }

        var described = await context.CallActivityAsync<DescribedDataset>(
            DescribeDatasetActivity.Name, new DescribeDatasetInput(input.Dataset, input.LabelColumn, input.Features, input.CsvChunkRows));
        var count = described.Dataset.Chunks.Count;
        return count < 2 ? null : HoldoutSplit.Complement(count, HoldoutSplit.Choose(unchecked((ulong)input.Seed), count, input.HoldoutFraction));
    }

    /// <summary>
    /// K activities over disjoint, round-robin shares of the epoch's shuffled chunks, then one merge. A share left
    /// empty (K above the chunk count) would add nothing to the average, so it gets no activity.
    /// </summary>
    private static async Task<string> DataParallelEpochAsync(
        TaskOrchestrationContext context, TrainingPlan plan, TrainingOptions options, int epoch, string? previous, int workers, string fileName)
    {
        var shares = EpochPlan.WorkerChunks(options.Seed, epoch, plan.Train.Chunks.Count, workers);
        var tasks = new List<Task<string>>(workers);
        for (var worker = 0; worker < workers && shares[worker].Length > 0; worker++)
        {
            var workerFile = string.Create(CultureInfo.InvariantCulture, $"epoch-{epoch + 1}.worker-{worker}.json");
            tasks.Add(context.CallActivityAsync<string>(TrainEpochActivity.Name, WorkerInput(plan, options, epoch, previous, shares[worker], workerFile)));
        }

        var paths = await Task.WhenAll(tasks);
        return await context.CallActivityAsync<string>(MergeEpochActivity.Name, new MergeEpochInput(options, epoch, previous, paths, plan.RunFolder, fileName));
    }

    private static TrainEpochInput WorkerInput(TrainingPlan plan, TrainingOptions options, int epoch, string? previous, int[] positions, string fileName)
    {
        var chunks = new List<ML.Data.ChunkLocation>(positions.Length);
        foreach (var position in positions)
        {
            chunks.Add(plan.Train.Chunks[position]);
        }

        return new TrainEpochInput(plan.Train with { Chunks = chunks }, plan.Features, plan.StatsArtifact, options, epoch, previous, plan.RunFolder, fileName);
    }

    private static void SetStatus(TaskOrchestrationContext context, string phase, int epochsDone, int epochs, List<EpochMetrics> curve) =>
        context.SetCustomStatus(new { phase, epoch = epochsDone, epochs, latest = curve.Count > 0 ? curve[^1].Holdout : null, learningCurve = curve });
}
