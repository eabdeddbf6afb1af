using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.Sidecar;
using Workflows.DurableTask.Tests.Conformance;
using Xunit;

namespace Workflows.DurableTask.Tests.Sidecar;

/// <summary>
/// The in-memory backend behind a <see cref="TaskHubSidecar"/>: the tests' client is the SDK's gRPC client, and the
/// code runs in the SDK's gRPC worker, fed by the sidecar's work-item stream — the setup of a standalone Durable Task
/// app against the host.
/// </summary>
#pragma warning disable CA1001 // xunit disposes fixtures through IAsyncLifetime.DisposeAsync.
public sealed class GrpcSidecarBackend : InMemoryBackend
#pragma warning restore CA1001
{
    private readonly WorkItemStreams _streams = new();
    private SidecarServer? _server;
    private TaskHubSidecar? _sidecar;
    private IHost? _grpc;

    public override bool RunsCodeInProcess => false;

    protected override TaskHubWorkerHost CreateWorker(IOrchestrationService service, DurableTaskRegistry registry) => new(service, _streams);

    protected override async Task<DurableTaskClient> CreateClientAsync(IOrchestrationServiceClient client, OrchestrationServiceClientOptions options)
    {
        _sidecar = new TaskHubSidecar(client, options, _streams);
        _server = await SidecarServer.StartAsync(_sidecar);
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddDurableTaskWorker(worker => worker.AddTasks(ConformanceTasks.Register).UseGrpc(_server.Channel));
        builder.Services.AddDurableTaskClient(clientBuilder => clientBuilder.UseGrpc(_server.Channel));
        _grpc = builder.Build();
        await _grpc.StartAsync();
        return _grpc.Services.GetRequiredService<DurableTaskClient>();
    }

    protected override async Task DisposeBackendAsync()
    {
        if (_grpc is not null)
        {
            await _grpc.StopAsync();
            _grpc.Dispose();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_sidecar is not null)
        {
            await _sidecar.DisposeAsync();
        }

        await base.DisposeBackendAsync();
    }
}

public sealed class GrpcSidecarConformanceTests(GrpcSidecarBackend backend)
    : OrchestrationConformanceTests<GrpcSidecarBackend>(backend), IClassFixture<GrpcSidecarBackend>;
