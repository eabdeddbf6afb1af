using System.Collections.Concurrent;
using Workflows.Durable.Conformance;
using Workflows.Durable.History;
using Workflows.Durable.InMemory;
using Workflows.Durable.Storage;
using Workflows.Durable.Worker;
using Xunit;

namespace Workflows.Durable.Tests;

public sealed class ScaleAndConcurrencyTests
{
    [Fact]
    public async Task FanOutFanIn_OfThousand_CompletesWithoutReplayingHistory()
    {
        var provider = new InMemoryStorageProvider();
        await using var harness = await WorkerHarness.StartAsync(provider, TestOrchestrations.RegisterAll);

        var result = await harness.RunAsync("FanOutFanIn", 1000);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, 1000).Sum(i => (long)i * i), result.ReadOutputAs<long>());
        var history = await harness.Client.GetOrchestrationHistoryAsync(result.InstanceId);
        Assert.Equal(1000, history.OfType<TaskCompleted>().Count());

        // Extended sessions: only the first episode misses the cache (with an empty history), so no event is
        // ever replayed and the work per completion does not grow with the history.
        var stats = harness.Worker.Statistics;
        Assert.Equal(1, stats.CacheMisses);
        Assert.Equal(0, stats.EventsReplayed);
        Assert.True(stats.EventsApplied < history.Count, $"applied {stats.EventsApplied} events for a history of {history.Count}");
    }

    [Fact]
    public async Task FanOutFanIn_WithoutCache_ReplaysButGivesTheSameResult()
    {
        var provider = new InMemoryStorageProvider();
        await using var harness = await WorkerHarness.StartAsync(provider, TestOrchestrations.RegisterAll, EngineFixture.NoCache());

        var result = await harness.RunAsync("FanOutFanIn", 300);

        Assert.Equal(Enumerable.Range(0, 300).Sum(i => (long)i * i), result.ReadOutputAs<long>());
        Assert.Equal(harness.Worker.Statistics.Episodes, harness.Worker.Statistics.CacheMisses);
        Assert.True(harness.Worker.Statistics.EventsReplayed > 0);
    }

    [Fact]
    public async Task CacheEviction_FallsBackToFullReplay_Correctly()
    {
        var options = new DurableTaskWorkerOptions { MaxCachedOrchestrations = 1, MaxConcurrentActivityFunctions = 2, MaxConcurrentOrchestratorFunctions = 1 };
        await using var engine = await EngineFixture.StartAsync(TestOrchestrations.RegisterAll, options);
        var first = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Approval");
        await engine.Harness.WaitAsync(first, m => m.SerializedCustomStatus == "\"waiting\"");
        var second = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Approval");
        await engine.Harness.WaitAsync(second, m => m.SerializedCustomStatus == "\"waiting\"");
        var replayedBefore = engine.Worker.Statistics.EventsReplayed;

        // The one cache slot now holds the second instance, so the first is replayed from history.
        await engine.Client.RaiseEventAsync(first, "Approve", false);

        var result = await engine.Client.WaitForInstanceCompletionAsync(first, true, WorkerHarness.Timeout());
        Assert.Equal("rejected", result.ReadOutputAs<string>());
        Assert.True(engine.Worker.Statistics.EventsReplayed > replayedBefore);
        Assert.Equal(1, engine.Worker.CachedOrchestrations);
    }

    [Fact]
    public async Task TwoWorkers_OnOneBackend_NeverRunOneInstanceAtTheSameTime()
    {
        var checker = new OwnershipCheckingProvider(new InMemoryStorageProvider());
        var options = new DurableTaskWorkerOptions { MaxConcurrentOrchestratorFunctions = 4, MaxConcurrentActivityFunctions = 2 };
        await using var one = await WorkerHarness.StartAsync(checker, RegisterWithRendezvous, options);
        await using var two = await WorkerHarness.StartAsync(checker, RegisterWithRendezvous, options);

        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await one.Client.ScheduleNewOrchestrationInstanceAsync(i % 2 == 0 ? "FanOutFanIn" : "Parent", i % 2 == 0 ? 50 : 3));
        }

        // Four activities that only finish once all four run at the same time: with two activity slots per
        // worker, this completes only if both workers take work.
        ids.Add(await one.Client.ScheduleNewOrchestrationInstanceAsync("Rendezvous", 4));

        foreach (var id in ids)
        {
            var result = await two.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        }

        Assert.Empty(checker.Violations);
        Assert.True(checker.LocksGranted > 20);
    }

    private static readonly TaskCompletionSource AllArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private static int _arrived;

    private static void RegisterWithRendezvous(DurableTaskRegistry registry)
    {
        TestOrchestrations.RegisterAll(registry);
        registry
            .AddActivityFunc<int, int>("Meet", async (_, expected) =>
            {
                if (Interlocked.Increment(ref _arrived) == expected)
                {
                    AllArrived.TrySetResult();
                }

                await AllArrived.Task.WaitAsync(WorkerHarness.SafetyTimeout);
                return 1;
            })
            .AddOrchestratorFunc<int, int>("Rendezvous", async (context, n) =>
            {
                var meetings = new Task<int>[n];
                for (var i = 0; i < n; i++)
                {
                    meetings[i] = context.CallActivityAsync<int>("Meet", n);
                }

                return (await Task.WhenAll(meetings)).Sum();
            });
    }

    [Fact]
    public async Task ExpiredLock_OfACrashedWorker_IsTakenOverAndTheInstanceFinishes()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(EngineFixture.Start);
        using var provider = new InMemoryStorageProvider(clock, lockTimeout: TimeSpan.FromMinutes(1));
        var client = new Durable.Client.DurableTaskClient(provider, timeProvider: clock);
        var id = await client.ScheduleNewOrchestrationInstanceAsync("HelloSequence");

        // A "worker" locks the instance and dies without completing or abandoning.
        var orphan = await provider.LockNextOrchestrationWorkItemAsync(WorkerHarness.Timeout());
        Assert.Equal(id, orphan.InstanceId);
        await using var survivor = await WorkerHarness.StartAsync(provider, TestOrchestrations.RegisterAll, timeProvider: clock);
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await client.GetInstanceAsync(id))!.RuntimeStatus);

        clock.Advance(TimeSpan.FromMinutes(1));

        var result = await client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal(["Hello Tokyo!", "Hello Seattle!", "Hello London!"], result.ReadOutputAs<string[]>()!);
        await Assert.ThrowsAsync<WorkItemLockLostException>(() =>
            provider.CompleteOrchestrationWorkItemAsync(orphan, new OrchestrationCommit { ExecutionId = "x", NewEvents = [], State = null }));
    }

    /// <summary>Records every orchestration lock granted and flags a second lock on an instance that is still held.</summary>
    private sealed class OwnershipCheckingProvider(IStorageProvider inner) : IStorageProvider
    {
        private readonly ConcurrentDictionary<string, byte> _held = new();
        private int _locksGranted;

        public ConcurrentQueue<string> Violations { get; } = new();

        public int LocksGranted => _locksGranted;

        public async Task<OrchestrationWorkItem> LockNextOrchestrationWorkItemAsync(CancellationToken cancellationToken)
        {
            var workItem = await inner.LockNextOrchestrationWorkItemAsync(cancellationToken);
            Interlocked.Increment(ref _locksGranted);
            if (!_held.TryAdd(workItem.InstanceId, 0))
            {
                Violations.Enqueue(workItem.InstanceId);
            }

            return workItem;
        }

        public Task<string> CompleteOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken = default)
        {
            // Released before the real commit: until it returns, the inner provider still holds the lock.
            _held.TryRemove(workItem.InstanceId, out _);
            return inner.CompleteOrchestrationWorkItemAsync(workItem, commit, cancellationToken);
        }

        public Task AbandonOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default)
        {
            _held.TryRemove(workItem.InstanceId, out _);
            return inner.AbandonOrchestrationWorkItemAsync(workItem, cancellationToken);
        }

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => inner.CreateIfNotExistsAsync(cancellationToken);

        public Task CreateInstanceAsync(OrchestrationMessage executionStarted, CancellationToken cancellationToken = default) => inner.CreateInstanceAsync(executionStarted, cancellationToken);

        public Task SendMessageAsync(OrchestrationMessage message, CancellationToken cancellationToken = default) => inner.SendMessageAsync(message, cancellationToken);

        public Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool fetchInputsAndOutputs, CancellationToken cancellationToken = default) => inner.GetInstanceAsync(instanceId, fetchInputsAndOutputs, cancellationToken);

        public Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellationToken = default) => inner.GetHistoryAsync(instanceId, cancellationToken);

        public Task<OrchestrationQueryResult> QueryInstancesAsync(OrchestrationQuery query, CancellationToken cancellationToken = default) => inner.QueryInstancesAsync(query, cancellationToken);

        public Task<bool> PurgeInstanceAsync(string instanceId, CancellationToken cancellationToken = default) => inner.PurgeInstanceAsync(instanceId, cancellationToken);

        public Task<int> PurgeInstancesAsync(PurgeInstancesFilter filter, CancellationToken cancellationToken = default) => inner.PurgeInstancesAsync(filter, cancellationToken);

        public Task<OrchestrationMetadata> WaitForInstanceAsync(string instanceId, Func<OrchestrationMetadata, bool> condition, bool fetchInputsAndOutputs, CancellationToken cancellationToken = default) =>
            inner.WaitForInstanceAsync(instanceId, condition, fetchInputsAndOutputs, cancellationToken);

        public Task<IReadOnlyList<HistoryEvent>> LoadHistoryAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default) => inner.LoadHistoryAsync(workItem, cancellationToken);

        public Task<ActivityWorkItem> LockNextActivityWorkItemAsync(CancellationToken cancellationToken) => inner.LockNextActivityWorkItemAsync(cancellationToken);

        public Task RenewActivityWorkItemLockAsync(ActivityWorkItem workItem, CancellationToken cancellationToken = default) => inner.RenewActivityWorkItemLockAsync(workItem, cancellationToken);

        public Task CompleteActivityWorkItemAsync(ActivityWorkItem workItem, OrchestrationMessage result, CancellationToken cancellationToken = default) => inner.CompleteActivityWorkItemAsync(workItem, result, cancellationToken);

        public Task AbandonActivityWorkItemAsync(ActivityWorkItem workItem, CancellationToken cancellationToken = default) => inner.AbandonActivityWorkItemAsync(workItem, cancellationToken);
    }
}
