using System.Net;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Workflows.DurableTask.Sidecar;

namespace Workflows.DurableTask.Tests.Sidecar;

/// <summary>A <see cref="TaskHubSidecar"/> served over HTTP/2 on a free loopback port, as the host serves it.</summary>
internal sealed class SidecarServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SidecarServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
    }

    public Uri Address { get; }

    /// <summary>A channel to the sidecar, for the SDK's gRPC client and worker.</summary>
    public GrpcChannel Channel { get; }

    public static async Task<SidecarServer> StartAsync(TaskHubSidecar sidecar)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(sidecar);
        WebApplication app = builder.Build();
        app.MapGrpcService<TaskHubSidecar>();
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new SidecarServer(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
