using Azure.Storage.Blobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using Workflows.ML.Data;
using Workflows.ML.Registry;
using Workflows.ML.AzureStorage;
using Workflows.Serving.Batching;
using Workflows.Serving.Caching;
using Workflows.Serving.Configuration;
using Workflows.Serving.Diagnostics;
using Workflows.Serving.Feedback;
using Workflows.Serving.Http;
using Workflows.Serving.Models;
using Workflows.Serving.Routing;
using Workflows.Serving.Shadow;

namespace Workflows.Serving.Hosting;

/// <summary>
/// Builds the prediction service: <see cref="CreateBuilder"/> reads the configuration (command line, environment,
/// appsettings) and registers the services, <see cref="Build"/> maps the routes. It listens on
/// <see cref="ServingOptions.DefaultUrl"/> unless <c>--urls</c> (or <c>urls</c>, <c>ASPNETCORE_URLS</c>) says otherwise.
/// </summary>
public static class ServingApplication
{
    /// <summary>The builder with the service's settings and services; add or replace services (a registry, a clock) before <see cref="Build"/>.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        LocalSettings.Add(builder.Configuration, Directory.GetCurrentDirectory());
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(ServingOptions.DefaultUrl);
        }

        var section = builder.Configuration.GetSection(ServingOptions.Section);
        builder.Services.AddOptions<ServingOptions>().Bind(section).ValidateOnStart();
        builder.Services.PostConfigure<ServingOptions>(static options =>
        {
            if (string.IsNullOrEmpty(options.AdminKey) && !string.IsNullOrWhiteSpace(options.AdminKeyFile))
            {
                options.AdminKey = AdminKeyFile.ReadOrCreate(options.AdminKeyFile);
            }
        });
        builder.Services.AddSingleton<IValidateOptions<ServingOptions>, ServingOptionsValidator>();
        var bodyLimit = section.GetValue(nameof(ServingOptions.MaxRequestBodyBytes), new ServingOptions().MaxRequestBodyBytes);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = bodyLimit;
            kestrel.AddServerHeader = false;
        });

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(provider => CreateRegistry(provider.GetRequiredService<IOptions<ServingOptions>>().Value, builder.Configuration));
        services.AddSingleton(provider => CreateRouteStore(
            provider.GetRequiredService<IOptions<ServingOptions>>().Value,
            builder.Configuration,
            provider.GetRequiredService<ILoggerFactory>().CreateLogger<BlobRouteStore>()));
        services.AddSingleton<ServingMetrics>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<ServingOptions>>().Value;
            return new PredictionCache<ScoreResult>(
                options.CacheEntries, options.CacheBytes, TimeSpan.FromSeconds(options.CacheTtlSeconds), provider.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(provider => new ShadowMirror(
            provider.GetRequiredService<IOptions<ServingOptions>>().Value.ShadowQueueCapacity,
            provider.GetRequiredService<ServingMetrics>(),
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ShadowMirror>>()));
        services.AddSingleton(provider => new RecentPredictions(provider.GetRequiredService<IOptions<ServingOptions>>().Value.FeedbackCapacity));
        services.AddSingleton<InferenceHandler>();
        services.AddSingleton<AdminKeyFilter>();
        services.AddHostedService<RegistryPoller>();
        return builder;
    }

    /// <summary>The service with its middleware and routes.</summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var app = builder.Build();
        app.UseMiddleware<ErrorHandlingMiddleware>();
        ModelEndpoints.Map(app);
        AdminEndpoints.Map(app);
        app.MapMetrics("/metrics", app.Services.GetRequiredService<ServingMetrics>().Registry);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var options = app.Services.GetRequiredService<IOptions<ServingOptions>>().Value;
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServingApplication));
            ServingLog.Started(logger, DescribeRegistry(options, app.Configuration), string.Join(", ", app.Urls), DescribeAdminKey(options, app.Configuration));
        });
        return app;
    }

    private static string DescribeRegistry(ServingOptions options, IConfiguration configuration) =>
        string.IsNullOrEmpty(options.BlobConnectionString)
            ? "folder " + LocalRegistryFolder(options, configuration)
            : $"Blob container '{options.BlobContainer}'";

    private static string DescribeAdminKey(ServingOptions options, IConfiguration configuration)
    {
        if (string.IsNullOrEmpty(options.AdminKey))
        {
            return "off (no Serving:AdminKey)";
        }

        return string.IsNullOrEmpty(configuration[$"{ServingOptions.Section}:{nameof(ServingOptions.AdminKey)}"]) && options.AdminKeyFile is { } file
            ? "key in " + Path.GetFullPath(file)
            : "key from Serving:AdminKey";
    }

    /// <summary>
    /// The registry the settings name: a Blob container when <c>Serving:BlobConnectionString</c> is set, else the local
    /// folder under the data root (<c>WorkflowsDataRoot</c>, default <c>data</c>) that <c>Serving:RegistryFolder</c>,
    /// else the function app's <c>WorkflowsModelRegistryRoot</c>, else <c>models</c> names: where the function app
    /// registers its models.
    /// </summary>
    private static IModelRegistry CreateRegistry(ServingOptions options, IConfiguration configuration)
    {
        if (!string.IsNullOrEmpty(options.BlobConnectionString))
        {
            return new BlobModelRegistry(new BlobContainerClient(options.BlobConnectionString, options.BlobContainer));
        }

        return new LocalFolderModelRegistry(LocalRegistryFolder(options, configuration));
    }

    /// <summary>Where each model's routing is kept between runs: beside the registry, in its container or folder.</summary>
    private static IRouteStore CreateRouteStore(ServingOptions options, IConfiguration configuration, ILogger logger) =>
        string.IsNullOrEmpty(options.BlobConnectionString)
            ? new FolderRouteStore(LocalRegistryFolder(options, configuration))
            : new BlobRouteStore(new BlobContainerClient(options.BlobConnectionString, options.BlobContainer), logger);

    /// <summary>The full path of the local registry folder (see <see cref="CreateRegistry"/>).</summary>
    internal static string LocalRegistryFolder(ServingOptions options, IConfiguration configuration)
    {
        var configuredRoot = configuration[DataRoot.Setting];
        var dataRoot = new DataRoot(string.IsNullOrWhiteSpace(configuredRoot) ? DataRoot.DefaultFolder : configuredRoot);
        if (options.RegistryFolder is { } folder)
        {
            return dataRoot.Resolve(folder, $"{ServingOptions.Section}:{nameof(ServingOptions.RegistryFolder)}");
        }

        var functionApp = configuration[ServingOptions.FunctionAppRegistrySetting];
        return string.IsNullOrWhiteSpace(functionApp)
            ? dataRoot.Resolve(ServingOptions.DefaultRegistryFolder, $"{ServingOptions.Section}:{nameof(ServingOptions.RegistryFolder)}")
            : dataRoot.Resolve(functionApp, ServingOptions.FunctionAppRegistrySetting);
    }
}
