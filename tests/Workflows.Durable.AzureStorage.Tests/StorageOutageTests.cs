using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Durable.AzureStorage.TestWorker;
using Workflows.Host.Azurite;
using Xunit;
using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Storage that goes away under a running worker: the worker rides out the outage and carries on when storage is
/// back, and a worker whose storage is gone when it stops (Ctrl+C reaches the Azurite a host started at the same
/// moment as the host) still stops: giving its partition leases back is best effort, bounded in time, and never
/// throws (the leases expire on their own). Each test runs its own Azurite, since it stops it. The workers are the
/// official SDK's functions on DTFx's worker over our backend (<see cref="InProcessWorker"/>).
/// </summary>
public sealed class StorageOutageTests
{
    [Fact]
    public async Task Dispose_AfterStorageWentAway_CompletesWithoutThrowing()
    {
        var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        var worker = InProcessWorker.Create(Options(azurite.ConnectionString), RegisterParent);
        try
        {
            await worker.StartAsync();
            Assert.Equal(SdkRuntimeStatus.Completed, (await worker.RunAsync("Parent", 2)).RuntimeStatus);
            Assert.NotEmpty(worker.Provider.OwnedPartitions);

            await azurite.DisposeAsync();

            // Bounded by the cleanup timeout; the wait only keeps a regression from hanging the suite. DTFx's graceful
            // stop ends the dispatchers and the backend's waits for work; the backend's disposal gives the leases back.
            await worker.Host.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(2));
            await worker.Service.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(2));
            Assert.Empty(worker.Provider.OwnedPartitions);
        }
        finally
        {
            await worker.DisposeAsync();
            await azurite.DisposeAsync();
        }
    }

    [Fact]
    public async Task WorkerRidesOutAStorageOutage_AndRunsOrchestrationsWhenStorageIsBack()
    {
        await using var azurite = await AzuriteProcess.StartAsync(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory));
        await using var storage = new StorageCut(azurite);
        await using var worker = InProcessWorker.Create(Options(storage.ConnectionString), RegisterParent);
        await worker.StartAsync();
        Assert.Equal(SdkRuntimeStatus.Completed, (await worker.RunAsync("Parent", 2)).RuntimeStatus);

        // Storage goes away for a few lease rounds (each fails fast with the tests' short retries)...
        await storage.CutAsync();
        await Eventually.UntilAsync(() => worker.Provider.FailedLeaseRounds >= 3, TimeSpan.FromSeconds(60));

        // ...and comes back: the lease loop is still alive, renews, and the worker runs orchestrations again.
        storage.Restore();
        Assert.Equal(SdkRuntimeStatus.Completed, (await worker.RunAsync("Parent", 3)).RuntimeStatus);
        Assert.NotEmpty(worker.Provider.OwnedPartitions);
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
        await using var worker = InProcessWorker.Create(Options(storage.ConnectionString), FaultPointWork.Register);
        using var cut = new ManualResetEventSlim();

        // Storage goes away inside the parent's second commit (a child's result, 120 calls in several batches), after
        // the step; what is left of the commit meets no storage.
        worker.Provider.Faults = new AtCommitStep(Enum.Parse<CommitStep>(step), Parent, 2, () =>
        {
            storage.CutAsync().GetAwaiter().GetResult();
            cut.Set();
        });
        await worker.StartAsync();
        await worker.Client.ScheduleNewOrchestrationInstanceAsync(FaultPointWork.ChildThenFanOut, Calls, new StartOrchestrationOptions(Parent));
        Assert.True(cut.Wait(TimeSpan.FromSeconds(60)));
        await Eventually.UntilAsync(() => worker.Provider.FailedLeaseRounds >= 2, TimeSpan.FromSeconds(60));
        storage.Restore();

        var result = await worker.Client.WaitForInstanceCompletionAsync(Parent, true, InProcessWorker.Timeout());
        Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(FaultPointWork.ChildThenFanOutResult(Calls), result.ReadOutputAs<long>());
        var history = await worker.Client.GetOrchestrationHistoryAsync(Parent);
        CoreHistoryAssert.EachTaskCompletedExactlyOnce(history, Calls);
        Assert.Single(history.OfType<SubOrchestrationInstanceCompletedEvent>());
        Assert.Single(history.OfType<ExecutionCompletedEvent>());
    }

    /// <summary>A parent of <c>n</c> children, each of which calls one activity.</summary>
    private static void RegisterParent(SdkRegistry registry) => registry
        .AddActivityFunc<int, int>("Square", (_, x) => x * x)
        .AddOrchestratorFunc<int, int>("Child", async (context, x) => await context.CallActivityAsync<int>("Square", x) + 1)
        .AddOrchestratorFunc<int, int[]>("Parent", async (context, n) =>
        {
            var children = new Task<int>[n];
            for (var i = 0; i < n; i++)
            {
                children[i] = context.CallSubOrchestratorAsync<int>("Child", i);
            }

            return await Task.WhenAll(children);
        });

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
