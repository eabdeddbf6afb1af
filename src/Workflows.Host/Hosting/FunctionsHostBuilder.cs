using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;
using Workflows.Host.FunctionApp;
using Workflows.Host.Http;
using Workflows.Host.Security;

namespace Workflows.Host.Hosting;

/// <summary>
/// Builds the host: configuration from host.json and local.settings.json in the script root (the first folder
/// holding host.json, from the working directory up, or <c>AzureWebJobsScriptRoot</c>), environment variables and
/// the command line over them; Kestrel on http://127.0.0.1:7071 unless <c>--urls</c> or <c>ASPNETCORE_URLS</c> say
/// otherwise.
/// </summary>
public sealed class FunctionsHostBuilder
{
    /// <summary>The setting that names the hosting environment (as in Azure Functions).</summary>
    private const string EnvironmentSetting = "AZURE_FUNCTIONS_ENVIRONMENT";

    /// <summary>How long a stopping host waits for work in flight.</summary>
    internal static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    private readonly WebApplicationBuilder _builder;

    /// <summary>Creates the builder; <paramref name="args"/> are the command line (<c>--Name=value</c> settings, <c>--urls</c>).</summary>
    /// <exception cref="HostConfigurationException">A setting is invalid; the message names it.</exception>
    public FunctionsHostBuilder(string[] args)
    {
        _builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, EnvironmentName = HostingEnvironment(args) });
        var scriptRoot = _builder.Configuration["AzureWebJobsScriptRoot"] ?? FindScriptRoot();
        var exportToEnvironment = !string.Equals(_builder.Configuration["WorkflowsExportLocalSettings"], "false", StringComparison.OrdinalIgnoreCase);
        HostJsonConfiguration.AddFiles(_builder.Configuration, scriptRoot, exportToEnvironment);

        if (string.IsNullOrEmpty(_builder.Configuration["urls"]))
        {
            _builder.WebHost.UseUrls(FunctionsHostOptions.DefaultUrl);
        }

        // A stop (Ctrl+C, SIGTERM) gives work in flight this long to finish; what does not is given back to the task
        // hub and re-run. Bounded, so a host whose storage is gone still stops within seconds.
        _builder.Services.Configure<HostOptions>(static host => host.ShutdownTimeout = ShutdownTimeout);
        _builder.Logging.AddSimpleConsole(static console => console.SingleLine = true);
        _builder.Services.AddFunctionsHost(_builder.Configuration, scriptRoot);
    }

    /// <summary>Services, for the app's own registrations and test doubles (e.g. a fake <see cref="TimeProvider"/>).</summary>
    public IServiceCollection Services => _builder.Services;

    /// <summary>The configuration (host.json under <c>AzureFunctionsJobHost</c>, app settings at the root).</summary>
    public IConfigurationManager Configuration => _builder.Configuration;

    /// <summary>Logging.</summary>
    public ILoggingBuilder Logging => _builder.Logging;

    /// <summary>The URLs Kestrel will bind (the default, or what <c>--urls</c> / <c>ASPNETCORE_URLS</c> said).</summary>
    internal string? ConfiguredUrls => _builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);

    /// <summary>Builds the host with the app's HTTP functions (mapped once its worker has started) and the Durable Functions HTTP API.</summary>
    public WebApplication Build()
    {
        var app = _builder.Build();
        // Uptime counts from here, the host's start, whenever /admin/host/status is first asked.
        _ = app.Services.GetRequiredService<HostUptime>();
        var options = app.Services.GetRequiredService<IOptions<FunctionsHostOptions>>().Value;
        var worker = app.Services.GetRequiredService<FunctionAppWorker>();
        app.UseMiddleware<ErrorHandlingMiddleware>();
        app.UseStatusCodePages(EmptyErrorProblems.WriteAsync);
        app.UseRouting();
        app.UseMiddleware<RequestGuardMiddleware>();
        app.UseMiddleware<KeyAuthorizationMiddleware>();
        app.MapHttpFunctions(worker, options);
        app.MapDurableHttpApi(worker, options);
        app.MapHostAdminEndpoints();
        app.MapServingEndpoints();
        return app;
    }

    /// <summary>
    /// As the Functions host: AZURE_FUNCTIONS_ENVIRONMENT names the hosting environment when it is set, from the
    /// environment, the command line or local.settings.json (null: ASP.NET Core's own default applies). The name is read
    /// before the builder exists, since the builder fixes its environment when it is created.
    /// </summary>
    private static string? HostingEnvironment(string[] args)
    {
        using var early = new ConfigurationManager();
        early.AddEnvironmentVariables();
        early.AddCommandLine(args);
        HostJsonConfiguration.AddFiles(early, early["AzureWebJobsScriptRoot"] ?? FindScriptRoot(), exportValuesToEnvironment: false);
        return early[EnvironmentSetting] is { Length: > 0 } name ? name : null;
    }

    private static string FindScriptRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "host.json")))
                {
                    return directory.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
