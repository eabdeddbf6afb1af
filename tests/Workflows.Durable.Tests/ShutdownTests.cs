using Workflows.Durable.Conformance;
using Workflows.Durable.InMemory;
using Workflows.Durable.History;
using Xunit;

namespace Workflows.Durable.Tests;

public sealed class ShutdownTests
{
    [Fact]
    public async Task StopAsync_WaitsForRunningActivity_AndANewWorkerFinishesTheInstance()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var provider = new InMemoryStorageProvider();
        var first = await WorkerHarness.StartAsync(provider, registry => Register(registry, started, release));
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("SlowThenFast");
        await started.Task.WaitAsync(WorkerHarness.SafetyTimeout);

        var stopping = first.Worker.StopAsync(CancellationToken.None);
        Assert.False(stopping.IsCompleted);
        release.SetResult();
        await stopping.WaitAsync(WorkerHarness.SafetyTimeout);
        await first.Worker.DisposeAsync();

        // The stopped worker committed the slow activity's result; a fresh worker continues from there.
        await using var second = await WorkerHarness.StartAsync(provider, registry => Register(registry, new TaskCompletionSource(), new TaskCompletionSource()));
        var result = await second.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal("slow+fast", result.ReadOutputAs<string>());
        Assert.Single((await second.Client.GetOrchestrationHistoryAsync(id)).OfType<TaskScheduled>(), t => t.Name == "Slow");
    }

    [Fact]
    public async Task StopAsync_WhenItsTokenFires_CancelsActivities_WhichRunAgainElsewhere()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var provider = new InMemoryStorageProvider();
        var first = await WorkerHarness.StartAsync(provider, registry => Register(registry, started, new TaskCompletionSource()));
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("SlowThenFast");
        await started.Task.WaitAsync(WorkerHarness.SafetyTimeout);

        using var expired = new CancellationTokenSource();
        await expired.CancelAsync();
        await first.Worker.StopAsync(expired.Token);
        await first.Worker.DisposeAsync();
        Assert.Equal(1, provider.PendingActivityCount);

        var done = new TaskCompletionSource();
        done.SetResult();
        await using var second = await WorkerHarness.StartAsync(provider, registry => Register(registry, new TaskCompletionSource(), done));
        var result = await second.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal("slow+fast", result.ReadOutputAs<string>());
    }

    private static void Register(DurableTaskRegistry registry, TaskCompletionSource started, TaskCompletionSource release) => registry
        .AddActivityFunc<string?, string>("Slow", async (context, _) =>
        {
            started.TrySetResult();
            await release.Task.WaitAsync(context.CancellationToken);
            return "slow";
        })
        .AddActivityFunc<string?, string>("Fast", (_, _) => "fast")
        .AddOrchestratorFunc<string?, string>("SlowThenFast", async (context, _) =>
            await context.CallActivityAsync<string>("Slow") + "+" + await context.CallActivityAsync<string>("Fast"));
}
