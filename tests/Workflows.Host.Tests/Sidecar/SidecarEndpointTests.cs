using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Workflows.Host.Configuration;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests.Sidecar;

/// <summary>
/// The host's Durable Task gRPC endpoint: an official SDK gRPC worker in its own process runs the orchestrators and
/// activities the host's app does not have, started through the host's HTTP API or an official gRPC client; the
/// gRPC client manages the app's own instances too.
/// </summary>
public sealed class SidecarEndpointTests : IAsyncLifetime
{
    private readonly string _markers = Directory.CreateTempSubdirectory("workflows-grpc-worker-").FullName;
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(app: TestApps.Worker);

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_markers, recursive: true);
    }

    [Fact]
    public void Endpoint_ListensOnLoopback()
    {
        var address = GrpcWorkerProcess.Runtime(_host).SidecarAddress;

        Assert.Equal("127.0.0.1", address.Host);
        Assert.NotEqual(0, address.Port);
    }

    [Fact]
    public async Task Endpoint_RefusesHttp1_SoBrowsersCannotReachIt()
    {
        using var http = new HttpClient { Timeout = TestHost.SafetyTimeout };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(GrpcWorkerProcess.Runtime(_host).SidecarAddress, "TaskHubSidecarService/Hello"))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StringContent("{}"),
        };

        using var response = await http.SendAsync(request);

        // Kestrel answers before anything is routed: the gRPC service never sees an HTTP/1.x request.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("HTTP/2 only endpoint", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcWorker_RunsWhatTheAppLacks_StartedThroughTheHttpApiAndAGrpcClient()
    {
        using var worker = await GrpcWorkerProcess.StartAsync(_host, _markers);

        using var start = await _host.PostAsync("runtime/webhooks/durabletask/orchestrators/GrpcGreeting", "\"Lisbon\"");
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var links = await start.Content.ReadFromJsonAsync<JsonElement>();
        var status = await _host.WaitForCompletionAsync(links.GetProperty("statusQueryGetUri").GetString()!);
        Assert.True(status.GetProperty("runtimeStatus").GetString() == "Completed", status.ToString());
        Assert.Equal("Hello, Lisbon! (from a gRPC worker)", status.GetProperty("output").GetString());

        var (client, services) = GrpcWorkerProcess.Client(_host);
        await using (services)
        {
            var id = await client.ScheduleNewOrchestrationInstanceAsync("GrpcGreeting", "Porto");
            using var timeout = new CancellationTokenSource(TestHost.SafetyTimeout);
            var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal("Hello, Porto! (from a gRPC worker)", done.ReadOutputAs<string>());
        }
    }

    [Fact]
    public async Task UnknownName_WithNoGrpcWorkerConnected_IsStill404()
    {
        using var start = await _host.PostAsync("runtime/webhooks/durabletask/orchestrators/GrpcGreeting", "\"Lisbon\"");

        Assert.Equal(HttpStatusCode.NotFound, start.StatusCode);
    }

    [Fact]
    public async Task GrpcWorker_KilledMidActivity_ANewWorkerFinishesTheInstance()
    {
        var (client, services) = GrpcWorkerProcess.Client(_host);
        await using (services)
        {
            string id;
            int first;
            using (var hanging = await GrpcWorkerProcess.StartAsync(_host, _markers, hang: true))
            {
                first = hanging.Id;
                id = await client.ScheduleNewOrchestrationInstanceAsync("GrpcGreeting", "Kyiv");
                await TestHost.PollAsync<bool>(async _ =>
                {
                    await Task.Yield();
                    return File.Exists(Path.Combine(_markers, "started-" + first)) ? true : null;
                });
                hanging.Kill();
            }

            // The host notices the dead worker's connection go (what it held is given back), then a new worker starts.
            await TestHost.PollAsync<bool>(async _ =>
            {
                await Task.Yield();
                return GrpcWorkerProcess.Runtime(_host).ConnectedGrpcWorkers == 0 ? true : null;
            });

            using var second = await GrpcWorkerProcess.StartAsync(_host, _markers);
            using var timeout = new CancellationTokenSource(TestHost.SafetyTimeout);
            var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);

            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal("Hello, Kyiv! (from a gRPC worker)", done.ReadOutputAs<string>());
            Assert.True(File.Exists(Path.Combine(_markers, "started-" + second.Id)), "The new worker ran the activity again.");
        }
    }

    [Fact]
    public async Task GrpcClient_QueriesTerminatesAndPurgesAnAppInstance()
    {
        var (client, services) = GrpcWorkerProcess.Client(_host);
        await using (services)
        {
            var id = "grpc-" + Guid.NewGuid().ToString("N");
            Assert.Equal(id, await client.ScheduleNewOrchestrationInstanceAsync("WaitForApproval", new StartOrchestrationOptions(id)));
            await _host.WaitForStatusAsync(id, static status => TestHost.IsStatus(status, "Running"));

            var running = await client.GetInstanceAsync(id);
            Assert.Equal(OrchestrationRuntimeStatus.Running, running?.RuntimeStatus);
            Assert.Equal("WaitForApproval", running?.Name);
            var listed = new List<OrchestrationMetadata>();
            await foreach (var instance in client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = id }))
            {
                listed.Add(instance);
            }

            Assert.Equal(id, Assert.Single(listed).InstanceId);

            await client.TerminateInstanceAsync(id, "stopped over gRPC");
            using var timeout = new CancellationTokenSource(TestHost.SafetyTimeout);
            var terminated = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Terminated, terminated.RuntimeStatus);

            var purged = await client.PurgeInstanceAsync(id);
            Assert.Equal(1, purged.PurgedInstanceCount);
            Assert.Null(await client.GetInstanceAsync(id));
            using var gone = await _host.Http.GetAsync(new Uri($"runtime/webhooks/durabletask/instances/{id}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
    }
}

public sealed class SidecarPortTests
{
    [Fact]
    public async Task Start_PortInUse_FailsNamingThePortAndTheSetting()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var error = await Assert.ThrowsAsync<HostConfigurationException>(() => TestHost.StartAsync(settings: "WorkflowsGrpcPort=" + port));

        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("WorkflowsGrpcPort", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("65536")]
    [InlineData("grpc")]
    public async Task Start_InvalidPort_FailsNamingTheSetting(string value)
    {
        var error = await Assert.ThrowsAsync<HostConfigurationException>(() => TestHost.StartAsync(settings: "WorkflowsGrpcPort=" + value));

        Assert.Contains("WorkflowsGrpcPort", error.Message, StringComparison.Ordinal);
    }
}
