using Xunit;

namespace Workflows.Cli.Tests;

/// <summary>One in-memory host shared by the tests of a class (keys off: local development over loopback).</summary>
public sealed class HostFixture : IAsyncLifetime
{
    private CliHost? _host;

    public CliHost Host => _host ?? throw new InvalidOperationException("The host has not started.");

    public async Task InitializeAsync() => _host = await CliHost.StartAsync();

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
