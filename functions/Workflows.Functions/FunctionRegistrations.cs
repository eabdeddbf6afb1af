using Microsoft.Extensions.DependencyInjection;
using Workflows.Durable;
using Workflows.Host;
using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.ML.Registry;
using Workflows.ML.Training;

namespace Workflows.Functions;

/// <summary>Every orchestrator and activity of the function app, and the services its ML activities need.</summary>
public static class FunctionRegistrations
{
    /// <summary>
    /// Adds the services the app's activities take in their constructors: where datasets live (default: the local
    /// file system), the statistics kernel (default: ILGPU on a CUDA device if there is one, else SIMD on the CPU)
    /// the model registry (default: a local folder, see <see cref="DefaultModelRegistryRoot"/>) and the training
    /// activities' cache of decoded chunks (default: <see cref="DefaultChunkCacheBytes"/>).
    /// </summary>
    public static IServiceCollection AddWorkflowServices(
        this IServiceCollection services,
        IDatasetStorage? datasetStorage = null,
        IStatisticsKernel? kernel = null,
        IModelRegistry? modelRegistry = null,
        DecodedChunkCache? chunkCache = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(datasetStorage ?? LocalDatasetStorage.Instance);
        services.AddSingleton(kernel ?? KernelSelector.Default);

        // Created on first use: a host that never trains does not create the folder.
        services.AddSingleton(_ => modelRegistry ?? new LocalFolderModelRegistry(DefaultModelRegistryRoot()));
        services.AddSingleton(chunkCache ?? new DecodedChunkCache(DefaultChunkCacheBytes()));
        return services;
    }

    /// <summary>App setting (or environment variable) with the decoded-chunk cache budget in MiB; 0 turns it off.</summary>
    public const string ChunkCacheMegabytesSetting = "WorkflowsChunkCacheMegabytes";

    /// <summary>The cache budget: <see cref="ChunkCacheMegabytesSetting"/> MiB when set, else 256 MiB per process.</summary>
    public static long DefaultChunkCacheBytes()
    {
        var configured = Environment.GetEnvironmentVariable(ChunkCacheMegabytesSetting);
        if (string.IsNullOrWhiteSpace(configured))
        {
            return 256L << 20;
        }

        return long.TryParse(configured, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var megabytes) && megabytes <= (long.MaxValue >> 20)
            ? megabytes << 20
            : throw new InvalidOperationException($"app setting {ChunkCacheMegabytesSetting} must be a whole number of MiB (0 turns the cache off), not '{configured}'.");
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
    /// <paramref name="datasetStorage"/>, reduced with <paramref name="kernel"/>, trained models registered in
    /// <paramref name="modelRegistry"/>, and decoded training chunks kept in <paramref name="chunkCache"/> (defaults as
    /// in <see cref="AddWorkflowServices"/>).
    /// </summary>
    public static DurableTaskRegistry AddWorkflowFunctions(
        this DurableTaskRegistry registry,
        IDatasetStorage? datasetStorage = null,
        IStatisticsKernel? kernel = null,
        IModelRegistry? modelRegistry = null,
        DecodedChunkCache? chunkCache = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var services = new ServiceCollection().AddWorkflowServices(datasetStorage, kernel, modelRegistry, chunkCache).BuildServiceProvider();
        return registry.AddFunctions(typeof(FunctionRegistrations).Assembly, services);
    }
}
