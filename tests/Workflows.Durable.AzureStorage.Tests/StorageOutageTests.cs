using Workflows.Durable.Conformance;
using Workflows.Host.Azurite;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Storage that goes away under a running worker: the worker rides out the outage and carries on when storage is
/// back, and a worker whose storage is gone when it stops (Ctrl+C reaches the Azurite a host started at the same
/// moment as the host) still stops: giving its partition leases back is best effort, bounded in time, and never
/// throws (the leases expire on their own). Each test runs its own Azurite, since it stops it.
/// </summary>
public sealed class StorageOutageTests
{
    [Fact]
    public async Task Dispose_AfterStorageWentAway_CompletesWithoutThrowing()
    {
        var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        var provider = new AzureStorageProvider(Options(azurite.ConnectionString));
        try
        {
            var worker = await WorkerHarness.StartAsync(provider, TestOrchestrations.RegisterAll);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await worker.RunAsync("Parent", 2)).RuntimeStatus);
            Assert.NotEmpty(provider.OwnedPartitions);

            await azurite.DisposeAsync();

            // Bounded by the cleanup timeout; the wait only keeps a regression from hanging the suite.
            await worker.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(2));
            await provider.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(2));
            Assert.Empty(provider.OwnedPartitions);
        }
        finally
        {
            await azurite.DisposeAsync();
        }
    }

    [Fact]
    public async Task WorkerRidesOutAStorageOutage_AndRunsOrchestrationsWhenStorageIsBack()
    {
        await using var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        var (blob, queue, table) = (azurite.BlobPort, azurite.QueuePort, azurite.TablePort);
        await using var blobCut = new TcpCutter(blob);
        await using var queueCut = new TcpCutter(queue);
        await using var tableCut = new TcpCutter(table);
        var connection = azurite.ConnectionString
            .Replace($":{blob}/", $":{blobCut.Port}/", StringComparison.Ordinal)
            .Replace($":{queue}/", $":{queueCut.Port}/", StringComparison.Ordinal)
            .Replace($":{table}/", $":{tableCut.Port}/", StringComparison.Ordinal);
        var provider = new AzureStorageProvider(Options(connection));
        try
        {
            await using var worker = await WorkerHarness.StartAsync(provider, TestOrchestrations.RegisterAll);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await worker.RunAsync("Parent", 2)).RuntimeStatus);

            // Storage goes away for a few lease rounds (each fails fast with the tests' short retries)...
            await Task.WhenAll(blobCut.CutAsync(), queueCut.CutAsync(), tableCut.CutAsync());
            await Eventually.UntilAsync(() => provider.FailedLeaseRounds >= 3, TimeSpan.FromSeconds(60));

            // ...and comes back: the lease loop is still alive, renews, and the worker runs orchestrations again.
            blobCut.Restore();
            queueCut.Restore();
            tableCut.Restore();
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await worker.RunAsync("Parent", 3)).RuntimeStatus);
            Assert.NotEmpty(provider.OwnedPartitions);
        }
        finally
        {
            await provider.DisposeAsync();
        }
    }

    /// <summary>A hub of two partitions whose lease rounds run every second and whose storage calls give up fast.</summary>
    private static AzureStorageOptions Options(string connectionString) => new()
    {
        ConnectionString = connectionString,
        TaskHubName = "outage" + Guid.NewGuid().ToString("N")[..12],
        PartitionCount = 2,
        LeaseDuration = TimeSpan.FromSeconds(15),
        LeaseRenewInterval = TimeSpan.FromSeconds(1),
        ShutdownCleanupTimeout = TimeSpan.FromSeconds(1),
        StorageRetries = (1, TimeSpan.FromMilliseconds(100)),
    };
}
