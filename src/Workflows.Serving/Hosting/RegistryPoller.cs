using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Serving.Configuration;
using Workflows.Serving.Diagnostics;
using Workflows.Serving.Models;
using Workflows.Serving.Shadow;

namespace Workflows.Serving.Hosting;

/// <summary>
/// Starts the shadow loop, scans the registry once at start-up and then every <c>Serving:RegistryPollSeconds</c>. A
/// failed scan is logged and the loaded models keep serving; the next scan tries again.
/// </summary>
internal sealed class RegistryPoller(ModelCatalog catalog, ShadowMirror shadow, IOptions<ServingOptions> options, TimeProvider timeProvider, ILogger<RegistryPoller> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        shadow.Start();
        await ScanAsync(stoppingToken).ConfigureAwait(false);
        var seconds = options.Value.RegistryPollSeconds;
        if (seconds == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds), timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await ScanAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task ScanAsync(CancellationToken cancellationToken)
    {
        try
        {
            await catalog.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            ServingLog.RegistryScanFailed(logger, exception);
        }
    }
}
