using Workflows.Durable.AzureStorage.TestWorker;
using Workflows.Durable.Client;
using Workflows.Durable.Conformance;
using Workflows.Durable.History;
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
        await using var storage = new StorageCut(azurite);
        var provider = new AzureStorageProvider(Options(storage.ConnectionString));
        try
        {
            await using var worker = await WorkerHarness.StartAsync(provider, TestOrchestrations.RegisterAll);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await worker.RunAsync("Parent", 2)).RuntimeStatus);

            // Storage goes away for a few lease rounds (each fails fast with the tests' short retries)...
            await storage.CutAsync();
            await Eventually.UntilAsync(() => provider.FailedLeaseRounds >= 3, TimeSpan.FromSeconds(60));

            // ...and comes back: the lease loop is still alive, renews, and the worker runs orchestrations again.
            storage.Restore();
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await worker.RunAsync("Parent", 3)).RuntimeStatus);
            Assert.NotEmpty(provider.OwnedPartitions);
        }
        finally
        {
            await provider.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(nameof(CommitStep.MessagesSent))]
    [InlineData(nameof(CommitStep.LeadingRowsWritten))]
    [InlineData(nameof(CommitStep.HistoryCommitted))]
    [InlineData(nameof(CommitStep.InstanceRowWritten))]
    public async Task StorageCutMidCommit_AndRestored_RunFinishesWithEachResultOnce(string step)
    {
        const string Parent = "cut-mid-commit";
        const int Calls = 120;
        await using var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        await using var storage = new StorageCut(azurite);
        var provider = new AzureStorageProvider(Options(storage.ConnectionString));
        using var cut = new ManualResetEventSlim();

        // Storage goes away inside the parent's second commit (a child's result, 120 calls in several batches), after
        // the step; what is left of the commit meets no storage.
        provider.Faults = new AtCommitStep(Enum.Parse<CommitStep>(step), Parent, 2, () =>
        {
            storage.CutAsync().GetAwaiter().GetResult();
            cut.Set();
        });
        try
        {
            await using var worker = await WorkerHarness.StartAsync(provider, TestOrchestrations.RegisterAll);
            await worker.Client.ScheduleNewOrchestrationInstanceAsync("ChildThenFanOut", Calls, new StartOrchestrationOptions(Parent));
            Assert.True(cut.Wait(TimeSpan.FromSeconds(60)));
            await Eventually.UntilAsync(() => provider.FailedLeaseRounds >= 2, TimeSpan.FromSeconds(60));
            storage.Restore();

            var result = await worker.Client.WaitForInstanceCompletionAsync(Parent, true, WorkerHarness.Timeout());
            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(TestOrchestrations.ChildThenFanOutResult(Calls), result.ReadOutputAs<long>());
            var history = await worker.Client.GetOrchestrationHistoryAsync(Parent);
            HistoryAssert.EachTaskCompletedExactlyOnce(history, Calls);
            Assert.Single(history.OfType<SubOrchestrationInstanceCompleted>());
            Assert.Single(history.OfType<ExecutionCompleted>());
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
