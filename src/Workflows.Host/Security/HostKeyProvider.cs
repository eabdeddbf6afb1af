using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Workflows.Host.Hosting;
using Workflows.Host.TaskHub;

namespace Workflows.Host.Security;

/// <summary>
/// Loads the host keys from storage at start, generating them on the very first start (create-if-absent, so hosts
/// sharing a hub agree on one set). Keys are never logged.
/// </summary>
internal sealed class HostKeyProvider(TaskHubRuntime taskHub) : IHostedService
{
    public const string BlobName = "host.keys.json";

    private HostKeys? _keys;

    public HostKeys Keys => _keys ?? throw new InvalidOperationException("The host keys have not been loaded yet.");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var store = taskHub.State;
        var existing = await store.ReadAsync(BlobName, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            var generated = HostKeys.Generate();
            if (await store.TryCreateAsync(BlobName, JsonSerializer.Serialize(generated), cancellationToken).ConfigureAwait(false))
            {
                _keys = generated;
                return;
            }

            existing = await store.ReadAsync(BlobName, cancellationToken).ConfigureAwait(false);
        }

        _keys = JsonSerializer.Deserialize<HostKeys>(existing!)
            ?? throw new InvalidOperationException($"The stored host keys ({BlobName}) are empty or malformed.");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
