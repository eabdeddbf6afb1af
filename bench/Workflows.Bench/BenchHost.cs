using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Workflows.Host.Hosting;
using Workflows.Testing;

namespace Workflows.Bench;

/// <summary>
/// The host, in process on a free loopback port, running the function app's build output as its worker process, on a
/// task hub of Azurite (or the in-memory backend without a connection string), and a client for its HTTP API.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _root;

    private BenchHost(WebApplication app, string root, int maxConnections, TimeSpan timeout)
    {
        _app = app;
        _root = root;
        BaseAddress = new Uri(app.Urls.First().TrimEnd('/') + "/");
        Http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = maxConnections }) { BaseAddress = BaseAddress, Timeout = timeout };
    }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    /// <summary>Starts a host on the hub <paramref name="hub"/> of <paramref name="connectionString"/> (null: in memory).</summary>
    public static async Task<BenchHost> StartAsync(string? connectionString, string hub, int maxConnections = 64, TimeSpan? timeout = null)
    {
        var root = Directory.CreateTempSubdirectory("workflows-bench-host-").FullName;
        try
        {
            await File.WriteAllTextAsync(
                Path.Combine(root, "host.json"),
                $$"""{ "extensions": { "durableTask": { "hubName": "{{hub}}", "storageProvider": { "partitionCount": 4 } } } }""");
            var builder = new FunctionsHostBuilder(
                [
                    "--urls=http://127.0.0.1:0",
                    "--AzureWebJobsScriptRoot=" + root,
                    "--WorkflowsAppPath=" + TestApps.Functions,
                    "--AZURE_FUNCTIONS_ENVIRONMENT=Development",
                    "--WorkflowsExportLocalSettings=false",
                    "--WorkflowsGrpcPort=0",
                    connectionString is null ? "--WorkflowsStorageProvider=InMemory" : "--AzureWebJobsStorage=" + connectionString,
                    .. TestApps.SampleSettings.Select(static s => $"--{s.Key}={s.Value}"),
                ]);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            var app = builder.Build();
            await app.StartAsync();
            return new BenchHost(app, root, maxConnections, timeout ?? TimeSpan.FromMinutes(10));
        }
        catch
        {
            Directory.Delete(root, recursive: true);
            throw;
        }
    }

    /// <summary>Stops the host (its worker process and the task hub) and deletes its folder.</summary>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
