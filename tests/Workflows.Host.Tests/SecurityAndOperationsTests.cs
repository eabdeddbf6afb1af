using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Workflows.Host.Configuration;
using Workflows.Host.Security;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class SecurityAndOperationsTests(AzuriteFixture azurite)
{
    private const string Api = "runtime/webhooks/durabletask";

    [Fact]
    public async Task EnforcedKeys_RequireTheRightKeyPerLevel_FromHeaderOrCode()
    {
        var logs = new CapturingLoggerProvider();
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, configureServices: s => s.AddSingleton<ILoggerProvider>(logs), settings: "WorkflowsEnforceKeys=true");
        var keys = host.Keys;
        var functionKey = keys.FunctionKeys["default"];

        using var noKey = await host.PostAsync("api/orchestrators/HelloSequence", "\"Bern\"");
        using var wrongKey = await Send(host, HttpMethod.Post, "api/orchestrators/HelloSequence", new string('A', functionKey.Length), "\"Bern\"");
        using var started = await Send(host, HttpMethod.Post, "api/orchestrators/HelloSequence", functionKey, "\"Bern\"");
        var payload = await started.Content.ReadFromJsonAsync<JsonElement>();
        var id = payload.GetProperty("id").GetString()!;
        using var managementWithFunctionKey = await Send(host, HttpMethod.Get, $"{Api}/instances/{id}", functionKey);
        using var managementWithMasterKey = await Send(host, HttpMethod.Get, $"{Api}/instances/{id}", keys.MasterKey);
        using var managementWithCode = await host.Http.GetAsync(new Uri($"{Api}/instances/{id}?code={Uri.EscapeDataString(keys.MasterKey)}", UriKind.Relative));
        var followed = await host.WaitForCompletionAsync(payload.GetProperty("statusQueryGetUri").GetString()!);
        using var typedWithCode = await host.Http.PostAsync(new Uri($"api/hello/Zurich?code={Uri.EscapeDataString(functionKey)}", UriKind.Relative), null);
        // An anonymous function (the test worker app's Sum) needs no key, keys enforced or not.
        await using var worker = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker, settings: "WorkflowsEnforceKeys=true");
        using var anonymous = await worker.PostAsync("api/Sum", "[2, 3]");

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, managementWithFunctionKey.StatusCode);
        Assert.True(managementWithMasterKey.IsSuccessStatusCode);
        Assert.True(managementWithCode.IsSuccessStatusCode);
        Assert.Equal("Completed", followed.GetProperty("runtimeStatus").GetString());
        Assert.Equal(HttpStatusCode.Accepted, typedWithCode.StatusCode);
        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        Assert.DoesNotContain(logs.Messages, m => m.Contains(keys.MasterKey, StringComparison.Ordinal) || m.Contains(functionKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Keys_GeneratedOnFirstStart_AreKeptInStorageForTheNextStart()
    {
        var hub = "k" + Guid.NewGuid().ToString("N")[..20];
        var hostJson = $$"""{ "extensions": { "durableTask": { "hubName": "{{hub}}" } } }""";
        HostKeys first;
        await using (var host = await TestHost.StartAsync(azurite.ConnectionString, hostJson))
        {
            first = host.Keys;
        }

        await using var again = await TestHost.StartAsync(azurite.ConnectionString, hostJson);

        Assert.Equal(first.MasterKey, again.Keys.MasterKey);
        Assert.Equal(first.FunctionKeys["default"], again.Keys.FunctionKeys["default"]);
        Assert.NotEqual(first.MasterKey, first.FunctionKeys["default"]);
    }

    [Fact]
    public async Task KeysOff_OutsideLocalDevelopment_FailsStartUp()
    {
        var error = await Assert.ThrowsAsync<HostConfigurationException>(() =>
            TestHost.StartAsync(settings: ["AZURE_FUNCTIONS_ENVIRONMENT=Production", "WorkflowsEnforceKeys=false"]));

        Assert.Contains("WorkflowsEnforceKeys=false", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BodyOverLimit_Answers413()
    {
        await using var host = await TestHost.StartAsync(
            azurite.ConnectionString,
            """{ "extensions": { "durableTask": { "hubName": "limits" }, "http": { "maxRequestBodySize": 1024 } } }""");

        using var response = await host.PostAsync("api/orchestrators/HelloSequence", "\"" + new string('x', 2000) + "\"");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task StatusHealthAndMetrics_ReportTheHost()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, settings: "WorkflowsEnforceKeys=true");
        var id = host.Keys.MasterKey;
        using (var start = await Send(host, HttpMethod.Post, "api/orchestrators/HelloSequence", id, "\"Kyiv\""))
        {
            await host.WaitForCompletionAsync((await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("statusQueryGetUri").GetString()!);
        }

        using var statusWithoutKey = await host.Http.GetAsync(new Uri("admin/host/status", UriKind.Relative));
        using var status = await Send(host, HttpMethod.Get, "admin/host/status", id);
        var statusBody = await status.Content.ReadFromJsonAsync<JsonElement>();
        using var health = await host.Http.GetAsync(new Uri("health", UriKind.Relative));
        using var dashboard = await host.Http.GetAsync(new Uri("/", UriKind.Relative));
        using var instancesWithoutKey = await host.Http.GetAsync(new Uri("runtime/webhooks/durabletask/instances", UriKind.Relative));
        var metrics = await host.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, statusWithoutKey.StatusCode);
        Assert.Equal("Running", statusBody.GetProperty("state").GetString());
        Assert.Contains("HelloSequence", statusBody.GetProperty("functions").EnumerateArray().Select(static f => f.GetString()));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("text/html", dashboard.Content.Headers.ContentType!.MediaType);
        Assert.Contains("runtime/webhooks/durabletask/instances", await dashboard.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, instancesWithoutKey.StatusCode);
        Assert.Contains("workflows_function_invocations_total{function=\"SayHello\",trigger=\"activityTrigger\"} 3", metrics, StringComparison.Ordinal);
        Assert.Contains("workflows_function_duration_seconds_count{function=\"HelloSequence\",trigger=\"orchestrationTrigger\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("workflows_function_failures_total", metrics, StringComparison.Ordinal);
        Assert.Matches("workflows_storage_transactions_total\\{service=\"table\"\\} [1-9]", metrics);
    }

    [Fact]
    public async Task ServingView_NamesTheMissingSetting_AndAServiceThatDoesNotAnswer()
    {
        await using (var unset = await TestHost.StartAsync())
        {
            using var none = await unset.Http.GetAsync(new Uri("admin/host/serving/models", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
            Assert.Contains("WorkflowsServingUrl", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A closed port: 502 naming the service, and the admin key never in the answer.
        await using var host = await TestHost.StartAsync(settings: ["WorkflowsServingUrl=http://127.0.0.1:1/", "WorkflowsServingAdminKey=serving-admin-key-123456"]);
        using var down = await host.Http.GetAsync(new Uri("admin/host/serving/models/m/metrics?window=10", UriKind.Relative));
        var body = await down.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadGateway, down.StatusCode);
        Assert.Contains("does not answer", body, StringComparison.Ordinal);
        Assert.DoesNotContain("serving-admin-key", body, StringComparison.Ordinal);
        using var badWindow = await host.Http.GetAsync(new Uri("admin/host/serving/models/m/metrics?window=0", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, badWindow.StatusCode);

        // No admin key anywhere: 503 naming both settings.
        await using var keyless = await TestHost.StartAsync(settings: "WorkflowsServingUrl=http://127.0.0.1:1/");
        using var noKey = await keyless.Http.GetAsync(new Uri("admin/host/serving/models", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, noKey.StatusCode);
        Assert.Contains("WorkflowsServingAdminKeyFile", await noKey.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostStatusUptime_CountsFromTheHostStart_OnTheHostClock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var host = await TestHost.StartAsync(configureServices: s => s.AddSingleton<TimeProvider>(clock));

        clock.Advance(TimeSpan.FromMinutes(90));
        var first = await host.Http.GetFromJsonAsync<JsonElement>("admin/host/status");
        clock.Advance(TimeSpan.FromSeconds(30));
        var second = await host.Http.GetFromJsonAsync<JsonElement>("admin/host/status");

        Assert.Equal(5400, first.GetProperty("processUptimeSeconds").GetInt64());
        Assert.Equal(5430, second.GetProperty("processUptimeSeconds").GetInt64());
    }

    private static async Task<HttpResponseMessage> Send(TestHost host, HttpMethod method, string path, string key, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("x-functions-key", key);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        return await host.Http.SendAsync(request);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Capturing(Messages);

        public void Dispose()
        {
        }

        private sealed class Capturing(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception) + exception);
        }
    }
}
