using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Workflows.Functions.Canary;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Kernels;
using Workflows.ML.Registry;
using Workflows.ML.Training;

namespace Workflows.Functions;

/// <summary>The services the function app's orchestrators and activities need, and the app settings that configure them.</summary>
public static class FunctionRegistrations
{
    /// <summary>
    /// Adds the services the app's orchestrators and activities take in their constructors: the data root
    /// (<paramref name="dataRoot"/>, default: what <see cref="DataRoot.Setting"/> names, see <see cref="DataRootFrom"/>),
    /// where datasets live (default: the local file system, confined to the data root), the statistics kernel (default:
    /// ILGPU on a CUDA device if there is one, else SIMD on the CPU), the model registry (default: a local folder,
    /// <see cref="ModelRegistryRootSetting"/> under the data root) and the training
    /// activities' cache of decoded chunks (default: sized by <see cref="ChunkCacheBudget"/>, whose budget a hosted
    /// service logs at start-up), and the prediction service's admin API for CanaryPromotion (<paramref name="servingAdmin"/>;
    /// default: over HTTP at <see cref="ServingUrlSetting"/>). App settings are read through <paramref name="settings"/> (default: environment
    /// variables); an invalid one throws <see cref="AppSettingException"/> naming it.
    /// </summary>
    public static IServiceCollection AddWorkflowServices(
        this IServiceCollection services,
        IDatasetStorage? datasetStorage = null,
        IStatisticsKernel? kernel = null,
        IModelRegistry? modelRegistry = null,
        DecodedChunkCache? chunkCache = null,
        Func<string, string?>? settings = null,
        DataRoot? dataRoot = null,
        IServingAdmin? servingAdmin = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        settings ??= Environment.GetEnvironmentVariable;

        // Created now: a bad setting stops start-up, and the folder exists before the first request names a path in it.
        dataRoot ??= DataRootFrom(settings);
        services.AddSingleton(dataRoot);
        services.AddSingleton(datasetStorage ?? new LocalDatasetStorage(dataRoot));
        services.AddSingleton(provider => new DatasetReader(provider.GetRequiredService<IDatasetStorage>(), LoggerFor<DatasetReader>(provider)));

        // Chosen on first use; a CUDA driver that is there but unusable is logged then.
        services.AddSingleton(provider => kernel ?? KernelSelector.GetDefault(LoggerFor<IStatisticsKernel>(provider)));

        // Created on first use: a host that never trains does not create the folder.
        var registryRoot = RegistryRoot(settings, dataRoot);
        services.AddSingleton(_ => modelRegistry ?? new LocalFolderModelRegistry(registryRoot));

        // Resolved now, so a bad setting stops start-up instead of the first training activity.
        var budget = chunkCache is null ? ChunkCacheBudget.FromSettings(settings) : new ChunkCacheBudget(chunkCache.BudgetBytes, "given to AddWorkflowServices");
        services.AddSingleton(budget);
        services.AddSingleton(chunkCache ?? new DecodedChunkCache(budget.Bytes));
        services.AddHostedService<ChunkCacheStartupLog>();

        // The rows a hyper-parameter search reads, kept per worker for its evaluations.
        services.AddSingleton(provider => new Search.SearchDataLoader(provider.GetRequiredService<DatasetReader>()));

        // The prediction service's admin API for CanaryPromotion, created on first use: only canaries need the
        // service, so its settings are read (and a bad one reported) then, and its key at each call.
        services.AddSingleton(_ => servingAdmin ?? ServingAdminFrom(settings));

        // The clock DriftCheck measures a model's age with.
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>App setting (or environment variable) with the decoded-chunk cache budget in MiB; 0 turns it off.</summary>
    public const string ChunkCacheMegabytesSetting = ChunkCacheBudget.Setting;

    /// <summary>
    /// App setting (or environment variable) naming the folder of the default model registry, relative to the data root
    /// (an absolute path must lie inside it); default <c>models</c>.
    /// </summary>
    public const string ModelRegistryRootSetting = "WorkflowsModelRegistryRoot";

    /// <summary>App setting with the prediction service's base address for CanaryPromotion; default <c>http://127.0.0.1:7072</c> (where ./run.sh starts it).</summary>
    public const string ServingUrlSetting = "WorkflowsServingUrl";

    /// <summary>App setting with the prediction service's admin key (its <c>Serving:AdminKey</c>).</summary>
    public const string ServingAdminKeySetting = "WorkflowsServingAdminKey";

    /// <summary>
    /// App setting naming a file that holds the admin key, read when <see cref="ServingAdminKeySetting"/> is not set;
    /// default <c>.serving/admin-key</c> (the key ./run.sh gives the service), relative to the working directory.
    /// </summary>
    public const string ServingAdminKeyFileSetting = "WorkflowsServingAdminKeyFile";

    /// <summary>The prediction service's admin API as the settings name it (see <see cref="ServingUrlSetting"/>).</summary>
    public static HttpServingAdmin ServingAdminFrom(Func<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var url = settings(ServingUrlSetting);
        if (!Uri.TryCreate(string.IsNullOrWhiteSpace(url) ? "http://127.0.0.1:7072" : url, UriKind.Absolute, out var address)
            || address.Scheme is not ("http" or "https"))
        {
            throw new AppSettingException($"{ServingUrlSetting} '{url}' is not an absolute http(s) address.");
        }

        var key = settings(ServingAdminKeySetting);
        var keyFile = settings(ServingAdminKeyFileSetting);
        return new HttpServingAdmin(address, () =>
        {
            if (!string.IsNullOrWhiteSpace(key))
            {
                return key;
            }

            var file = string.IsNullOrWhiteSpace(keyFile) ? Path.Combine(".serving", "admin-key") : keyFile;
            try
            {
                return File.ReadAllText(file).Trim();
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException(
                    $"no admin key for the prediction service: set {ServingAdminKeySetting}, or {ServingAdminKeyFileSetting} to a file that holds it ('{Path.GetFullPath(file)}': {exception.Message}).", exception);
            }
        });
    }

    /// <summary>The data root that <see cref="DataRoot.Setting"/> names (default <see cref="DataRoot.DefaultFolder"/>), created when missing.</summary>
    public static DataRoot DataRootFrom(Func<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var configured = settings(DataRoot.Setting);
        try
        {
            return new DataRoot(string.IsNullOrWhiteSpace(configured) ? DataRoot.DefaultFolder : configured);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new AppSettingException($"{DataRoot.Setting} '{configured}' cannot be used as the data root: {exception.Message}", exception);
        }
    }

    private static ILogger LoggerFor<T>(IServiceProvider provider) =>
        provider.GetService<ILoggerFactory>()?.CreateLogger<T>() ?? NullLogger<T>.Instance;

    private static string RegistryRoot(Func<string, string?> settings, DataRoot dataRoot)
    {
        var configured = settings(ModelRegistryRootSetting);
        try
        {
            return dataRoot.Resolve(string.IsNullOrWhiteSpace(configured) ? "models" : configured, ModelRegistryRootSetting);
        }
        catch (DataPathException exception)
        {
            throw new AppSettingException(exception.Message, exception);
        }
    }
}
