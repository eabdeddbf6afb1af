using Microsoft.Extensions.Time.Testing;
using Workflows.Durable.Conformance;
using Workflows.Durable.History;
using Workflows.Durable.InMemory;
using Workflows.Durable.Worker;

namespace Workflows.Durable.Tests;

/// <summary>An in-memory task hub on a fake clock with a started worker: time only moves when a test advances it.</summary>
internal sealed class EngineFixture : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private EngineFixture(FakeTimeProvider clock, InMemoryStorageProvider provider, WorkerHarness harness)
    {
        Clock = clock;
        Provider = provider;
        Harness = harness;
    }

    public FakeTimeProvider Clock { get; }

    public InMemoryStorageProvider Provider { get; }

    public WorkerHarness Harness { get; }

    public Durable.Client.DurableTaskClient Client => Harness.Client;

    public DurableTaskWorker Worker => Harness.Worker;

    public static async Task<EngineFixture> StartAsync(Action<DurableTaskRegistry> register, DurableTaskWorkerOptions? options = null)
    {
        var clock = new FakeTimeProvider(Start);
        var provider = new InMemoryStorageProvider(clock);
        var harness = await WorkerHarness.StartAsync(provider, register, options, clock);
        return new EngineFixture(clock, provider, harness);
    }

    public static DurableTaskWorkerOptions NoCache() => new()
    {
        ExtendedSessionsEnabled = false,
        MaxConcurrentActivityFunctions = 4,
        MaxConcurrentOrchestratorFunctions = 2,
    };

    /// <summary>Waits until the committed history satisfies <paramref name="condition"/>.</summary>
    public Task<IReadOnlyList<HistoryEvent>> WaitForHistoryAsync(string instanceId, Func<IReadOnlyList<HistoryEvent>, bool> condition) =>
        Provider.WaitForHistoryAsync(instanceId, condition, WorkerHarness.Timeout());

    /// <summary>Waits until the instance has created <paramref name="count"/> timers, i.e. it is blocked on the last one.</summary>
    public Task<IReadOnlyList<HistoryEvent>> WaitForTimersAsync(string instanceId, int count) =>
        WaitForHistoryAsync(instanceId, h => h.OfType<TimerCreated>().Count() >= count);

    public async ValueTask DisposeAsync()
    {
        await Harness.DisposeAsync();
        Provider.Dispose();
    }
}
