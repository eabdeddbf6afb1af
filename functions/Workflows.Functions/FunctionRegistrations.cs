using Microsoft.Extensions.DependencyInjection;
using Workflows.Durable;
using Workflows.Host;
using Workflows.ML.Data;
using Workflows.ML.Kernels;

namespace Workflows.Functions;

/// <summary>Every orchestrator and activity of the function app, and the services its ML activities need.</summary>
public static class FunctionRegistrations
{
    /// <summary>
    /// Adds the services the app's activities take in their constructors: where datasets live (default: the local
    /// file system) and the statistics kernel (default: ILGPU on a CUDA device if there is one, else SIMD on the CPU).
    /// </summary>
    public static IServiceCollection AddWorkflowServices(this IServiceCollection services, IDatasetStorage? datasetStorage = null, IStatisticsKernel? kernel = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(datasetStorage ?? LocalDatasetStorage.Instance);
        services.AddSingleton(kernel ?? KernelSelector.Default);
        return services;
    }

    /// <summary>
    /// Adds the app's functions to <paramref name="registry"/>: the <c>[Function]</c> orchestrators and activities
    /// and the <c>[DurableTask]</c> classes of this assembly, found the way the host finds them (tests and
    /// benchmarks that run the engine without the host use this). Datasets are read from and written to
    /// <paramref name="datasetStorage"/> and reduced with <paramref name="kernel"/> (defaults as in <see cref="AddWorkflowServices"/>).
    /// </summary>
    public static DurableTaskRegistry AddWorkflowFunctions(this DurableTaskRegistry registry, IDatasetStorage? datasetStorage = null, IStatisticsKernel? kernel = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var services = new ServiceCollection().AddWorkflowServices(datasetStorage, kernel).BuildServiceProvider();
        return registry.AddFunctions(typeof(FunctionRegistrations).Assembly, services);
    }
}
