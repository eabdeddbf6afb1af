using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Workflows.Functions.Samples;

namespace Workflows.Host.Tests;

/// <summary>
/// The sample function app on the real host, in process, listening on a free loopback port: tests talk to it
/// over real HTTP. In memory unless a storage connection string is given (Azurite).
/// </summary>
internal sealed class TestHost : IAsyncDisposable
{
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(60);

    private readonly string _root;

    private TestHost(WebApplication app, string root)
    {
        App = app;
        _root = root;
        BaseAddress = app.Urls.First().TrimEnd('/');
        Http = new HttpClient { BaseAddress = new Uri(BaseAddress + "/"), Timeout = SafetyTimeout };
    }

    public WebApplication App { get; }

    public string BaseAddress { get; }

    public HttpClient Http { get; }

    public static async Task<TestHost> StartAsync(
        string? storageConnectionString = null,
        string? hostJson = null,
        Action<IServiceCollection>? configureServices = null,
        params string[] settings)
    {
        var root = Directory.CreateTempSubdirectory("workflows-host-").FullName;
        var hub = "h" + Guid.NewGuid().ToString("N")[..20];
        await File.WriteAllTextAsync(
            Path.Combine(root, "host.json"),
            hostJson ?? $$"""{ "version": "2.0", "extensions": { "durableTask": { "hubName": "{{hub}}", "maxConcurrentActivityFunctions": 8, "maxConcurrentOrchestratorFunctions": 4, "storageProvider": { "partitionCount": 2, "maxQueuePollingInterval": "00:00:01" } } } }""");
        var args = new List<string>
        {
            "--urls=http://127.0.0.1:0",
            "--AzureWebJobsScriptRoot=" + root,
            "--WorkflowsExportLocalSettings=false",
            storageConnectionString is null ? "--WorkflowsStorageProvider=InMemory" : "--AzureWebJobsStorage=" + storageConnectionString,
        };
        args.AddRange(settings.Select(static s => "--" + s));
        try
        {
            var builder = FunctionsHost.CreateBuilder([.. args], typeof(HelloSequence).Assembly);
            configureServices?.Invoke(builder.Services);
            var app = builder.Build();
            await app.StartAsync();
            return new TestHost(app, root);
        }
        catch
        {
            Directory.Delete(root, recursive: true);
            throw;
        }
    }

    /// <summary>Polls <paramref name="statusUri"/> until the instance has finished; returns the final status JSON.</summary>
    public async Task<JsonElement> WaitForCompletionAsync(string statusUri)
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        while (true)
        {
            using var response = await Http.GetAsync(new Uri(statusUri), timeout.Token);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(timeout.Token);
            if (response.StatusCode == System.Net.HttpStatusCode.OK)
            {
                return body;
            }

            // 202 while running; polling with a short pause is the documented client pattern (Retry-After).
            await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
