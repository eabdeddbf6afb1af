using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Workflows.Host.Hosting;
using Workflows.Host.Security;
using Workflows.Testing;

namespace Workflows.Cli.Tests;

/// <summary>
/// The real host, in process, listening on a free loopback port, running the test worker app
/// (tests/Workflows.Host.TestWorkerApp) as its worker process: the CLI talks to it over real HTTP, or to its task
/// hub's storage. In memory, or on a given storage account with a given backend and hub.
/// </summary>
public sealed class CliHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _root;

    private CliHost(WebApplication app, string root)
    {
        _app = app;
        _root = root;
        Url = app.Urls.First().TrimEnd('/');
    }

    /// <summary>The host's script root: its host.json (hub name, partition count), where a CLI run can read it too.</summary>
    public string Root => _root;

    /// <summary>The host's base URL, for <c>--url</c>.</summary>
    public string Url { get; }

    /// <summary>The host's master key.</summary>
    internal string MasterKey => _app.Services.GetRequiredService<HostKeyProvider>().Keys.MasterKey;

    /// <summary>Starts a host; <paramref name="settings"/> are <c>Name=value</c> app settings (e.g. <c>WorkflowsEnforceKeys=true</c>).</summary>
    public static Task<CliHost> StartAsync(params string[] settings) =>
        StartAsync("clitests", null, ["--WorkflowsStorageProvider=InMemory", .. settings.Select(static s => "--" + s)]);

    /// <summary>
    /// Starts a host on the storage account of <paramref name="connectionString"/> with the backend
    /// <paramref name="provider"/> (<c>Workflows</c> or <c>AzureStorage</c>) and the task hub <paramref name="hubName"/>
    /// (in its host.json). Idle queue polling backs off to a second at most, so a test's next step is picked up at once.
    /// </summary>
    public static Task<CliHost> StartOnStorageAsync(string connectionString, string provider, string hubName) =>
        StartAsync(hubName, "\"00:00:01\"", ["--WorkflowsStorageProvider=" + provider, "--AzureWebJobsStorage=" + connectionString]);

    private static async Task<CliHost> StartAsync(string hubName, string? maxQueuePollingInterval, string[] settings)
    {
        var root = Directory.CreateTempSubdirectory("workflows-cli-").FullName;
        var storageProvider = maxQueuePollingInterval is null ? string.Empty : $$""", "storageProvider": { "maxQueuePollingInterval": {{maxQueuePollingInterval}} }""";
        await File.WriteAllTextAsync(
            Path.Combine(root, "host.json"),
            $$"""{ "version": "2.0", "extensions": { "durableTask": { "hubName": "{{hubName}}", "maxConcurrentActivityFunctions": 8, "maxConcurrentOrchestratorFunctions": 4{{storageProvider}} } } }""");
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--AzureWebJobsScriptRoot=" + root,
            "--WorkflowsAppPath=" + TestApps.Worker,
            "--WorkflowsExportLocalSettings=false",
            // Any free port for the Durable Task gRPC endpoint: tests run side by side.
            "--WorkflowsGrpcPort=0",
            "--AZURE_FUNCTIONS_ENVIRONMENT=Development",
            "--Logging:LogLevel:Default=Warning",
            .. settings,
        ];
        try
        {
            var builder = new FunctionsHostBuilder(args);
            var app = builder.Build();
            await app.StartAsync();
            return new CliHost(app, root);
        }
        catch
        {
            Directory.Delete(root, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
