using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Workflows.Functions;
using Workflows.Functions.Canary;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Kernels;
using Workflows.ML.Registry;

namespace Workflows.Testing;

/// <summary>The function app's orchestrators and activities in process, on the engine, for tests and benchmarks.</summary>
public static class WorkflowFunctions
{
    /// <summary>
    /// Adds the function app's orchestrator and activity functions to <paramref name="registry"/>
    /// (<see cref="IsolatedFunctionRegistry.AddFunctions"/>), their services from
    /// <see cref="FunctionRegistrations.AddWorkflowServices"/>: datasets are read from and written to
    /// <paramref name="datasetStorage"/>, reduced with <paramref name="kernel"/>, trained models registered in
    /// <paramref name="modelRegistry"/>, and decoded training chunks kept in <paramref name="chunkCache"/> (defaults as
    /// there); CanaryPromotion reaches the prediction service through <paramref name="servingAdmin"/> (default: over
    /// HTTP as the environment's settings name it).
    /// </summary>
    public static DurableTaskRegistry AddWorkflowFunctions(
        this DurableTaskRegistry registry,
        IDatasetStorage? datasetStorage = null,
        IStatisticsKernel? kernel = null,
        IModelRegistry? modelRegistry = null,
        DecodedChunkCache? chunkCache = null,
        DataRoot? dataRoot = null,
        IServingAdmin? servingAdmin = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var services = new ServiceCollection()
            .AddLogging()
            .AddWorkflowServices(datasetStorage, kernel, modelRegistry, chunkCache, dataRoot: dataRoot, servingAdmin: servingAdmin)
            .BuildServiceProvider();
        return registry.AddFunctions(typeof(FunctionRegistrations).Assembly, services);
    }
}
