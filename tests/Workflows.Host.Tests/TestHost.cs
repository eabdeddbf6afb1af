using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Workflows.Host.Hosting;
using Workflows.Host.Security;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests;

/// <summary>
/// The real host, in process, listening on a free loopback port, running a function app's build output as its worker
/// process (the product's app unless the test names another): tests talk to it over real HTTP. In memory unless a
/// storage connection string is given (Azurite).
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
        string? app = null,
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
            "--WorkflowsAppPath=" + (app ?? TestApps.Functions),
            "--WorkflowsExportLocalSettings=false",
            // Any free port for the Durable Task gRPC endpoint: tests run side by side.
            "--WorkflowsGrpcPort=0",
            // Local development over loopback: keys unchecked unless a test turns them on (WorkflowsEnforceKeys=true).
            "--AZURE_FUNCTIONS_ENVIRONMENT=Development",
            storageConnectionString is null ? "--WorkflowsStorageProvider=InMemory" : "--AzureWebJobsStorage=" + storageConnectionString,
        };
        if (app is null)
        {
            args.AddRange(TestApps.SampleSettings.Select(static s => $"--{s.Key}={s.Value}"));
        }

        args.AddRange(settings.Select(static s => "--" + s));
        WebApplication? application = null;
        try
        {
            var builder = new FunctionsHostBuilder([.. args]);
            configureServices?.Invoke(builder.Services);
            application = builder.Build();
            await application.StartAsync();
            return new TestHost(application, root);
        }
        catch
        {
            // What started before the failure (the app's worker process) stops with the host, as in the host's Run.
            if (application is not null)
            {
                await application.DisposeAsync();
            }

            Directory.Delete(root, recursive: true);
            throw;
        }
    }

    /// <summary>Polls <paramref name="statusUri"/> until the instance has finished (200); returns the final status JSON.</summary>
    public Task<JsonElement> WaitForCompletionAsync(string statusUri) =>
        PollAsync(async cancellationToken =>
        {
            using var response = await Http.GetAsync(new Uri(statusUri), cancellationToken);
            return response.StatusCode == System.Net.HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken) : (JsonElement?)null;
        });

    /// <summary>
    /// Calls <paramref name="probe"/> until it returns a value, pausing briefly between calls (the polling a client of
    /// the status API does anyway); fails after <see cref="SafetyTimeout"/>.
    /// </summary>
    public static async Task<T> PollAsync<T>(Func<CancellationToken, Task<T?>> probe)
        where T : struct
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        while (true)
        {
            if (await probe(timeout.Token) is { } value)
            {
                return value;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token);
        }
    }

    /// <summary>Polls the instance's status until <paramref name="condition"/> holds; returns that status JSON.</summary>
    public Task<JsonElement> WaitForStatusAsync(string instanceId, Func<JsonElement, bool> condition) =>
        PollAsync(async cancellationToken =>
        {
            using var response = await Http.GetAsync(new Uri($"runtime/webhooks/durabletask/instances/{instanceId}", UriKind.Relative), cancellationToken);
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return null;
            }

            var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            return condition(body) ? body : (JsonElement?)null;
        });

    /// <summary>POSTs <paramref name="json"/> (raw) and returns the response.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string? json = null) =>
        Http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json ?? string.Empty, System.Text.Encoding.UTF8, "application/json"));

    /// <summary>
    /// Starts <paramref name="orchestrator"/> through the host's Durable Functions start route (the host's own API, the
    /// same whatever starters the app has; the app's starters have tests of their own) and returns its instance id.
    /// </summary>
    public async Task<string> StartAsync(string orchestrator, string? json = null, string? instanceId = null)
    {
        const string route = "runtime/webhooks/durabletask/orchestrators";
        using var response = await PostAsync(instanceId is null ? $"{route}/{orchestrator}" : $"{route}/{orchestrator}/{instanceId}", json);
        if (response.StatusCode != System.Net.HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"Start of {orchestrator} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>The host's keys, as stored.</summary>
    internal HostKeys Keys => App.Services.GetRequiredService<HostKeyProvider>().Keys;

    public static bool IsStatus(JsonElement status, string runtimeStatus) =>
        status.GetProperty("runtimeStatus").GetString() == runtimeStatus;

    /// <summary>Whether the status JSON is of a finished instance (Completed, Failed or Terminated).</summary>
    public static bool IsFinished(JsonElement status) =>
        status.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated";

    /// <summary>
    /// Starts <paramref name="orchestrator"/> with <paramref name="json"/>, waits until it has finished and asserts it
    /// ended <paramref name="expected"/>; returns its instance id.
    /// </summary>
    public async Task<string> RunToEndAsync(string orchestrator, string? json, string expected = "Completed")
    {
        var id = await StartAsync(orchestrator, json);
        var status = await WaitForStatusAsync(id, IsFinished);
        Assert.True(IsStatus(status, expected), $"{orchestrator} ended {status}");
        return id;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
