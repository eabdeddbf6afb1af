using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Workflows.Functions;

/// <summary>Logs the decoded-chunk cache's budget once when the host starts, so an operator sees what the default came to.</summary>
internal sealed partial class ChunkCacheStartupLog(ChunkCacheBudget budget, ILogger<ChunkCacheStartupLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log(logger, budget.Megabytes, budget.Origin);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(1, LogLevel.Information, "Decoded-chunk cache for training: {BudgetMegabytes} MiB ({Origin})")]
    private static partial void Log(ILogger logger, long budgetMegabytes, string origin);
}
