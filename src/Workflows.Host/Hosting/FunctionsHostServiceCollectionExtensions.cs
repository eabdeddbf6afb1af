using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.DurableTask.Client;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;
using Workflows.Host.FunctionApp;
using Workflows.Host.Http;
using Workflows.Host.Security;
using Workflows.Host.TaskHub;
using Workflows.Host.Retention;
using Workflows.Host.Timers;

namespace Workflows.Host.Hosting;

/// <summary>Registers the Functions-style host.</summary>
public static class FunctionsHostServiceCollectionExtensions
{
    /// <summary>
    /// Adds the host for the function app whose build output <c>WorkflowsAppPath</c> names (default: the script root):
    /// options from <paramref name="configuration"/> (host.json under <c>AzureFunctionsJobHost</c>, app settings),
    /// validated now; the app's worker process; the task hub; the <see cref="DurableTaskClient"/>.
    /// </summary>
    /// <exception cref="HostConfigurationException">A setting is invalid; the message names it.</exception>
    internal static IServiceCollection AddFunctionsHost(this IServiceCollection services, IConfiguration configuration, string? scriptRoot)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var warnings = new HostStartupWarnings();
        var options = new FunctionsHostOptions { ScriptRoot = scriptRoot ?? Directory.GetCurrentDirectory() };
        HostJsonConfiguration.Bind(configuration, options, warnings);
        options.Validate();
        services.AddSingleton(warnings);
        services.AddSingleton(Options.Create(options));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<HostUptime>();

        // The app's worker first: hosted services start in order and stop in reverse, so the worker is up before the
        // task hub and timers need its functions, and goes last, after the work in flight on it.
        services.AddHttpForwarder();
        services.AddSingleton<FunctionAppWorker>();
        services.AddHostedService(static sp => sp.GetRequiredService<FunctionAppWorker>());
        services.AddSingleton<TaskHubRuntime>();
        services.AddHostedService(static sp => sp.GetRequiredService<TaskHubRuntime>());
        services.AddSingleton<DurableTaskClient>(static sp => sp.GetRequiredService<TaskHubRuntime>().Client);
        services.AddSingleton<InstanceCountCache>();
        services.AddSingleton<HostKeyProvider>();
        services.AddHostedService(static sp => sp.GetRequiredService<HostKeyProvider>());
        services.AddSingleton(provider => new FunctionMetrics(() => provider.GetRequiredService<TaskHubRuntime>().TransactionCounter));
        services.AddSingleton<RetentionJob>();
        services.AddSingleton<IHostScheduledJob>(static sp => sp.GetRequiredService<RetentionJob>());
        services.AddSingleton<TimerScheduler>();
        services.AddHostedService(static sp => sp.GetRequiredService<TimerScheduler>());
        services.AddHostedService<FunctionListing>();
        services.AddSingleton<CheckStatusLinks>();
        services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodySize);

        // A query or route value that does not bind (showHistory=maybe) throws, so the 400 names the parameter.
        services.Configure<RouteHandlerOptions>(static routeHandler => routeHandler.ThrowOnBadRequest = true);
        services.AddLogging(logging =>
        {
            // ASP.NET Core's request-start lines carry the query string, where keys travel as ?code=: never log them.
            // The same for the forwarder's lines about a request it passes to the worker (the URL with its query).
            logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
            logging.AddFilter("Yarp", LogLevel.Warning);

            // DTFx and the SDK's shims log every work item at Information: warnings and up unless host.json asks.
            logging.AddFilter("DurableTask", LogLevel.Warning);
            logging.AddFilter("Microsoft.DurableTask", LogLevel.Warning);
            foreach (var (category, level) in options.LogLevels)
            {
                if (string.Equals(category, "default", StringComparison.OrdinalIgnoreCase))
                {
                    logging.SetMinimumLevel(level);
                }
                else
                {
                    logging.AddFilter(category, level);
                }
            }
        });
        return services;
    }
}
