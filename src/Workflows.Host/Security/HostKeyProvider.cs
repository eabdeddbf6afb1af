using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Workflows.Host.Configuration;
using Workflows.Host.FunctionApp;
using Workflows.Host.TaskHub;

namespace Workflows.Host.Security;

/// <summary>
/// Loads the host keys from storage at start, generating them on the very first start (create-if-absent, so hosts
/// sharing a hub agree on one set). Keys are never logged. While keys are enforced, the app's durable clients get the
/// system key for the management links they build.
/// </summary>
internal sealed class HostKeyProvider(TaskHubRuntime taskHub, FunctionAppWorker app, IOptions<FunctionsHostOptions> options) : IHostedService
{
    public const string BlobName = "host.keys.json";

    private HostKeys? _keys;

    public HostKeys Keys => _keys ?? throw new InvalidOperationException("The host keys have not been loaded yet.");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _keys = await LoadAsync(cancellationToken).ConfigureAwait(false);
        if (options.Value.EnforceKeys)
        {
            app.UseManagementQuery("code=" + Uri.EscapeDataString(_keys.SystemKeys[HostKeys.DurableTaskExtensionKey]));
        }
    }

    private async Task<HostKeys> LoadAsync(CancellationToken cancellationToken)
    {
        var store = taskHub.State;
        var existing = await store.ReadAsync(BlobName, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            var generated = HostKeys.Generate();
            if (await store.TryCreateAsync(BlobName, JsonSerializer.Serialize(generated), cancellationToken).ConfigureAwait(false))
            {
                return generated;
            }

            existing = await store.ReadAsync(BlobName, cancellationToken).ConfigureAwait(false);
        }

        return JsonSerializer.Deserialize<HostKeys>(existing!)
            ?? throw new InvalidOperationException($"The stored host keys ({BlobName}) are empty or malformed.");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
