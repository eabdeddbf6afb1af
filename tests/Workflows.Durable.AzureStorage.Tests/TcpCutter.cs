using System.Net;
using System.Net.Sockets;
using Workflows.Host.Azurite;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// A loopback TCP relay in front of a port that a test can cut (new connections are refused, open ones closed, as
/// when storage goes down) and restore (on the same port), so a storage outage is simulated without losing the
/// emulator's data.
/// </summary>
internal sealed class TcpCutter : IAsyncDisposable
{
    private readonly int _target;
    private readonly List<TcpClient> _open = [];
    private readonly Lock _gate = new();
    private TcpListener? _listener;
    private CancellationTokenSource? _stop;
    private Task? _accepting;

    public TcpCutter(int target)
    {
        _target = target;
        Port = AzuriteProcess.FreePort();
        Restore();
    }

    /// <summary>The port to connect to instead of the target.</summary>
    public int Port { get; }

    /// <summary>Refuses new connections and closes the open ones.</summary>
    public async Task CutAsync()
    {
        if (_listener is null)
        {
            return;
        }

        await _stop!.CancelAsync();
        _listener.Stop();
        await _accepting!;
        _listener = null;
        lock (_gate)
        {
            _open.ForEach(static c => c.Dispose());
            _open.Clear();
        }
    }

    /// <summary>Accepts connections again, on the same port.</summary>
    public void Restore()
    {
        if (_listener is not null)
        {
            return;
        }

        _stop = new CancellationTokenSource();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        var listener = _listener;
        var stop = _stop.Token;
        _accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient inbound;
                try
                {
                    inbound = await listener.AcceptTcpClientAsync(stop);
                }
                catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = RelayAsync(inbound);
            }
        });
    }

    public async ValueTask DisposeAsync() => await CutAsync();

    private async Task RelayAsync(TcpClient inbound)
    {
        var outbound = new TcpClient();
        lock (_gate)
        {
            _open.Add(inbound);
            _open.Add(outbound);
        }

        try
        {
            await outbound.ConnectAsync(IPAddress.Loopback, _target);
            var a = inbound.GetStream();
            var b = outbound.GetStream();
            await Task.WhenAny(a.CopyToAsync(b), b.CopyToAsync(a));
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException)
        {
            // Cut, or one side closed.
        }
        finally
        {
            inbound.Dispose();
            outbound.Dispose();
        }
    }
}
