using Workflows.Host.Azurite;
using Xunit;

namespace Workflows.Testing;

/// <summary>
/// Azurite for the tests of one assembly: installed from package.json with <c>npm ci</c> when missing, run in
/// memory on free ports, stopped afterwards. Nothing needs starting by hand. Each test assembly declares its own
/// collection over it (xunit looks for collection definitions in the test assembly).
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? _azurite;

    /// <summary>Connection string of the running emulator.</summary>
    public string ConnectionString => _azurite?.ConnectionString ?? throw new InvalidOperationException("Azurite is not running.");

    /// <inheritdoc />
    public async Task InitializeAsync() =>
        _azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }
}
