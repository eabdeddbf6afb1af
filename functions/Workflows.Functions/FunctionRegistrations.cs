using Workflows.Durable;
using Workflows.Functions.Datasets;
using Workflows.Functions.Samples;
using Workflows.Functions.Statistics;
using Workflows.ML.Data;
using Workflows.ML.Kernels;

namespace Workflows.Functions;

/// <summary>Every orchestrator and activity of the function app.</summary>
public static class FunctionRegistrations
{
    /// <summary>
    /// Adds the app's functions to <paramref name="registry"/>. Datasets are read from and written to
    /// <paramref name="datasetStorage"/> (default: the local file system) and reduced with
    /// <paramref name="kernel"/> (default: ILGPU on a CUDA device if there is one, else SIMD on the CPU).
    /// </summary>
    public static DurableTaskRegistry AddWorkflowFunctions(this DurableTaskRegistry registry, IDatasetStorage? datasetStorage = null, IStatisticsKernel? kernel = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var storage = datasetStorage ?? LocalDatasetStorage.Instance;
        return registry
            .AddOrchestrator(HelloSequenceOrchestrator.Name, static () => new HelloSequenceOrchestrator())
            .AddOrchestrator(FanOutFanInOrchestrator.Name, static () => new FanOutFanInOrchestrator())
            .AddActivity(SayHelloActivity.Name, static () => new SayHelloActivity())
            .AddActivity(SquareActivity.Name, static () => new SquareActivity())
            .AddOrchestrator(GenerateDatasetOrchestrator.Name, static () => new GenerateDatasetOrchestrator())
            .AddActivity(GenerateDatasetChunkActivity.Name, () => new GenerateDatasetChunkActivity(storage))
            .AddOrchestrator(ChunkedStatisticsOrchestrator.Name, static () => new ChunkedStatisticsOrchestrator())
            .AddActivity(DescribeDatasetActivity.Name, () => new DescribeDatasetActivity(storage))
            .AddActivity(ComputeChunkMomentsActivity.Name, () => new ComputeChunkMomentsActivity(storage, kernel ?? KernelSelector.Default))
            .AddActivity(ComputeChunkHistogramsActivity.Name, () => new ComputeChunkHistogramsActivity(storage, kernel ?? KernelSelector.Default))
            .AddActivity(WriteStatisticsArtifactActivity.Name, () => new WriteStatisticsArtifactActivity(storage));
    }
}
