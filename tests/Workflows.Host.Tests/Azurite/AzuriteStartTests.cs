using System.Net;
using System.Net.Sockets;
using Workflows.Host.Azurite;
using Xunit;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// Ports are chosen before the emulator binds them, so under a parallel test run another process can take one in
/// between; a start on chosen ports survives that.
/// </summary>
public sealed class AzuriteStartTests
{
    [Fact]
    public async Task Start_OnPortsTakenSinceTheyWereChosen_ChoosesOthers()
    {
        // The first three ports handed out are held by this test, as when another process binds a port between its
        // choice and the emulator's bind; the start gets EADDRINUSE from Azurite and chooses again.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var takenPort = ((IPEndPoint)taken.LocalEndpoint).Port;
        var handedOut = 0;
        await using var azurite = await AzuriteProcess.StartAsync(
            AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory),
            () => Interlocked.Increment(ref handedOut) <= 3 ? takenPort : AzuriteProcess.FreePort(),
            CancellationToken.None);

        Assert.True(handedOut >= 6);
        Assert.NotEqual(takenPort, azurite.BlobPort);
        Assert.True(await AzuriteProcess.IsListeningAsync(azurite.QueuePort, CancellationToken.None));
        Assert.Contains($":{azurite.TablePort}/", azurite.ConnectionString, StringComparison.Ordinal);
    }
}
