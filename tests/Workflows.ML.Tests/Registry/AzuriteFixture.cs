using Workflows.Durable.AzureStorage;
using Xunit;

namespace Workflows.ML.Tests.Registry;

/// <summary>One in-memory Azurite for the Blob registry tests, installed with <c>npm ci</c> when missing and stopped afterwards.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? _azurite;

    public string ConnectionString => _azurite?.ConnectionString ?? throw new InvalidOperationException("Azurite is not running.");

    public async Task InitializeAsync() =>
        _azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }
}
