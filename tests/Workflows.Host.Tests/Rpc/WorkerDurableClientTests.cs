using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Workflows.Host.TaskHub;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;
using Workflows.DurableTask.Sidecar;
using Workflows.Host.Rpc;
using Xunit;
using Yarp.ReverseProxy.Forwarder;

namespace Workflows.Host.Tests.Rpc;

/// <summary>
/// The whole isolated-app path: an HTTP function's <c>[DurableClient]</c> starts an orchestration through the Durable
/// Task gRPC endpoint, and its episodes and activities run in the same worker.
/// </summary>
public sealed class WorkerDurableClientTests(WorkerAppFixture fixture) : IClassFixture<WorkerAppFixture>
{
    [Fact]
    public async Task An_http_function_starts_an_orchestration_with_its_durable_client_and_the_worker_runs_it()
    {
        using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions());
        var clientOptions = new OrchestrationServiceClientOptions { StatusPollingInterval = null };
        await using var sidecarService = new TaskHubSidecar(service, clientOptions);
        await using var sidecar = await SidecarEndpoint.StartAsync(sidecarService, 0, NullLoggerFactory.Instance, CancellationToken.None);
        await using WebApplication app = await StartAsync(sidecar, fixture.Channel);
        await using var worker = new TaskHubWorkerHost(service, new FunctionsWorkerRunner(fixture.Channel));
        await worker.StartAsync();
        using var http = new HttpClient { BaseAddress = Address(app) };

        using HttpResponseMessage started = await http.PostAsync(new Uri("api/StartUppercase?words=durable,client", UriKind.Relative), null);
        Assert.True(started.StatusCode == HttpStatusCode.OK, await started.Content.ReadAsStringAsync());
        string id = (await started.Content.ReadFromJsonAsync<Started>())!.Id;

        var client = new OrchestrationServiceDurableTaskClient(service, clientOptions);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        OrchestrationMetadata done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(["DURABLE", "CLIENT"], done.ReadOutputAs<string[]>()!);
        await worker.StopAsync(isForced: true);
    }

    [Fact]
    public void Every_binding_of_the_test_app_is_one_the_host_supplies() =>
        Assert.Empty(WorkerBindings.Unsupported(fixture.Channel.Functions));

    [Fact]
    public void A_binding_the_host_does_not_supply_is_named_with_its_function()
    {
        var function = new WorkerFunction("Ingest", "id", "App.Ingest", [
            new WorkerBinding("message", "queueTrigger", WorkerBindingDirection.In, """{"name":"message","type":"queueTrigger","direction":"In"}"""),
            new WorkerBinding("$return", "http", WorkerBindingDirection.Out, """{"name":"$return","type":"http","direction":"Out"}"""),
        ]);

        string problem = Assert.Single(WorkerBindings.Unsupported([function]));

        Assert.Contains("function 'Ingest'", problem, StringComparison.Ordinal);
        Assert.Contains("'queueTrigger'", problem, StringComparison.Ordinal);
    }

    /// <summary>The app's HTTP functions (forwarded to the worker) on a loopback port of their own, their durable clients pointed at <paramref name="sidecar"/>.</summary>
    private static async Task<WebApplication> StartAsync(SidecarEndpoint sidecar, WorkerChannel channel)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddHttpForwarder();
        WebApplication app = builder.Build();
        WorkerHttpProxy? proxy = null;
        app.Map("/api/{function}", (HttpContext context) => proxy!.InvokeAsync(context, (string)context.GetRouteValue("function")!, new Dictionary<string, string>()));
        await app.StartAsync();

        // The clients' base URL is this app's, known once it listens.
        var endpoint = new DurableClientEndpoint(sidecar.Address, "test", Address(app));
        proxy = new WorkerHttpProxy(channel, app.Services.GetRequiredService<IHttpForwarder>(), new WorkerBindings(endpoint));
        return app;
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/");

    private sealed record Started(string Id);
}

public sealed class WorkerTimerTests(WorkerAppFixture fixture) : IClassFixture<WorkerAppFixture>
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_timer_function_gets_its_schedule_status_and_whether_it_is_past_due(bool pastDue)
    {
        var now = new DateTimeOffset(2026, 12, 6, 8, 0, 0, TimeSpan.Zero);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Task<ScopedLogs.Entry> logged = fixture.Logs.WaitForAsync(entry => entry.Message.Contains($"Tick; past due: {pastDue}", StringComparison.Ordinal), timeout.Token);

        var response = await fixture.Channel.InvokeAsync(
            "Tick",
            [new Microsoft.Azure.WebJobs.Script.Grpc.Messages.ParameterBinding { Name = "timer", Data = WorkerBindings.TimerTrigger(pastDue, now.AddMinutes(-5), now.AddMinutes(5), now) }],
            null,
            timeout.Token);

        Assert.Equal(Microsoft.Azure.WebJobs.Script.Grpc.Messages.StatusResult.Types.Status.Success, response.Result.Status);
        Assert.Equal("Tick", (await logged).Scope["FunctionName"]);
    }
}
