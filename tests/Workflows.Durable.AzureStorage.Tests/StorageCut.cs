using Workflows.Host.Azurite;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// The three services of an emulator (blob, queue, table) behind <see cref="TcpCutter"/> relays, with the connection
/// string that goes through them: cutting all three is storage going away, restoring them is storage coming back.
/// </summary>
internal sealed class StorageCut : IAsyncDisposable
{
    private readonly TcpCutter[] _cutters;

    public StorageCut(AzuriteProcess azurite)
    {
        ArgumentNullException.ThrowIfNull(azurite);
        int[] ports = [azurite.BlobPort, azurite.QueuePort, azurite.TablePort];
        _cutters = [.. ports.Select(port => new TcpCutter(port))];
        var connection = azurite.ConnectionString;
        for (var i = 0; i < ports.Length; i++)
        {
            connection = connection.Replace($":{ports[i]}/", $":{_cutters[i].Port}/", StringComparison.Ordinal);
        }

        ConnectionString = connection;
    }

    /// <summary>The emulator's connection string through the relays.</summary>
    public string ConnectionString { get; }

    /// <summary>Refuses new connections to every service and closes the open ones.</summary>
    public Task CutAsync() => Task.WhenAll(_cutters.Select(c => c.CutAsync()));

    /// <summary>Accepts connections again, on the same ports.</summary>
    public void Restore()
    {
        foreach (var cutter in _cutters)
        {
            cutter.Restore();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var cutter in _cutters)
        {
            await cutter.DisposeAsync();
        }
    }
}
