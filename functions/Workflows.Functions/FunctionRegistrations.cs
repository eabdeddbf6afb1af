using Microsoft.Extensions.DependencyInjection;
using Workflows.Durable;
using Workflows.Host;
using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Registry;

namespace Workflows.Functions;

/// <summary>Every orchestrator and activity of the function app, and the services its ML activities need.</summary>
public static class FunctionRegistrations
{
    /// <summary>
    /// Adds the services the app's activities take in their constructors: where datasets live (default: the local
    /// file system), the statistics kernel (default: ILGPU on a CUDA device if there is one, else SIMD on the CPU)
    /// and the model registry (default: a local folder, see <see cref="DefaultModelRegistryRoot"/>).
    /// </summary>
    public static IServiceCollection AddWorkflowServices(
        this IServiceCollection services, IDatasetStorage? datasetStorage = null, IStatisticsKernel? kernel = null, IModelRegistry? modelRegistry = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(datasetStorage ?? LocalDatasetStorage.Instance);
        services.AddSingleton(kernel ?? KernelSelector.Default);

        // Created on first use: a host that never trains does not create the folder.
        services.AddSingleton(_ => modelRegistry ?? new LocalFolderModelRegistry(DefaultModelRegistryRoot()));
        return services;
    }

    /// <summary>App setting (or environment variable) naming the folder of the default model registry.</summary>
    public const string ModelRegistryRootSetting = "WorkflowsModelRegistryRoot";

    /// <summary>
    /// Where the default registry keeps models: <see cref="ModelRegistryRootSetting"/> when set, else <c>models/</c>
    /// in the working directory (the repository root under <c>./run.sh</c>).
    /// </summary>
    public static string DefaultModelRegistryRoot()
    {
        var configured = Environment.GetEnvironmentVariable(ModelRegistryRootSetting);
        return string.IsNullOrWhiteSpace(configured) ? Path.Combine(Environment.CurrentDirectory, "models") : configured;
    }

    /// <summary>
    /// Adds the app's functions to <paramref name="registry"/>: the <c>[Function]</c> orchestrators and activities
    /// and the <c>[DurableTask]</c> classes of this assembly, found the way the host finds them (tests and
    /// benchmarks that run the engine without the host use this). Datasets are read from and written to
    /// <paramref name="datasetStorage"/>, reduced with <paramref name="kernel"/>, and trained models registered in
    /// <paramref name="modelRegistry"/> (defaults as in <see cref="AddWorkflowServices"/>).
    /// </summary>
    public static DurableTaskRegistry AddWorkflowFunctions(
        this DurableTaskRegistry registry, IDatasetStorage? datasetStorage = null, IStatisticsKernel? kernel = null, IModelRegistry? modelRegistry = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var services = new ServiceCollection().AddWorkflowServices(datasetStorage, kernel, modelRegistry).BuildServiceProvider();
        return registry.AddFunctions(typeof(FunctionRegistrations).Assembly, services);
    }
}
