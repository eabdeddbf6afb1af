using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Workflows.DurableTask.Sidecar;
using Workflows.Host.Configuration;

namespace Workflows.Host.TaskHub;

/// <summary>
/// The task hub's Durable Task gRPC endpoint: a Kestrel server of its own on 127.0.0.1 (HTTP/2 without TLS, as the
/// Durable Task SDKs reach a local sidecar) that serves <see cref="TaskHubSidecar"/> and nothing else. It shares no
/// pipeline with the host's HTTP endpoint (keys, request guards, body limits do not apply); loopback binding is its
/// access control (docs/decisions/0025-durable-task-grpc-endpoint.md).
/// </summary>
internal sealed class SidecarEndpoint : IAsyncDisposable
{
    /// <summary>The app setting that moves the endpoint.</summary>
    public const string PortSetting = "WorkflowsGrpcPort";

    private readonly WebApplication _app;

    private SidecarEndpoint(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Where the endpoint listens, e.g. <c>http://127.0.0.1:4001</c>.</summary>
    public Uri Address { get; }

    /// <summary>Starts serving <paramref name="sidecar"/> on 127.0.0.1:<paramref name="port"/> (0: a free port).</summary>
    /// <exception cref="HostConfigurationException">The port is in use.</exception>
    public static async Task<SidecarEndpoint> StartAsync(TaskHubSidecar sidecar, int port, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        // Its logs go to the host's loggers, less its own start and stop lines (the host logs the address, and its
        // "Now listening on" is the HTTP endpoint's); it leaves Ctrl+C and SIGTERM to the host, which stops it.
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new HostLoggers(loggerFactory));
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.None);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.Services.AddSingleton<IHostLifetime, HostOwnedLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2);

            // Histories and inputs travel in single messages; the body limit of the HTTP endpoint is not this one's.
            kestrel.Limits.MaxRequestBodySize = null;
        });
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = null;
            grpc.MaxSendMessageSize = null;
        });
        builder.Services.AddSingleton(sidecar);
        WebApplication app = builder.Build();
        app.MapGrpcService<TaskHubSidecar>();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException exception) when (exception.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || exception.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new HostConfigurationException(
                $"The Durable Task gRPC endpoint cannot listen on 127.0.0.1:{port}: the port is in use. Set {PortSetting} (./run.sh --grpc-port N) to a free port, or 0 for any free port.",
                exception);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new SidecarEndpoint(app, new Uri(address));
    }

    /// <summary>
    /// Stops the server: calls in flight get a few seconds to finish (the work-item streams end when the sidecar's
    /// <see cref="WorkItemStreams.Close"/> has been called), then their connections are closed.
    /// </summary>
    public async Task StopAsync()
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(grace.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The host's loggers, for the endpoint's server.</summary>
    private sealed class HostLoggers(ILoggerFactory loggerFactory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => loggerFactory.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }

    /// <summary>No lifetime of its own: the host starts and stops the endpoint.</summary>
    private sealed class HostOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
