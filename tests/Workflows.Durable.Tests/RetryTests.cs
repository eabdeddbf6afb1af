using Workflows.Durable.Conformance;
using Workflows.Durable.History;
using Xunit;

namespace Workflows.Durable.Tests;

public sealed class RetryTests
{
    [Fact]
    public async Task RetryPolicy_RetriesOnDurableTimers_WithExponentialBackoff()
    {
        var attempts = 0;
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddActivityFunc<string?, string>("Flaky", (_, _) =>
                Interlocked.Increment(ref attempts) < 3 ? throw new TimeoutException("transient") : "ok")
            .AddOrchestratorFunc<string?, string>("Retrying", (context, _) =>
                context.CallActivityAsync<string>("Flaky", null, TaskOptions.FromRetryPolicy(new RetryPolicy(5, TimeSpan.FromSeconds(10), backoffCoefficient: 2.0)))));
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Retrying");

        var history = await engine.WaitForTimersAsync(id, 1);
        Assert.Equal(EngineFixture.Start.UtcDateTime.AddSeconds(10), history.OfType<TimerCreated>().Last().FireAt);
        engine.Clock.Advance(TimeSpan.FromSeconds(10));
        history = await engine.WaitForTimersAsync(id, 2);
        Assert.Equal(EngineFixture.Start.UtcDateTime.AddSeconds(30), history.OfType<TimerCreated>().Last().FireAt);
        engine.Clock.Advance(TimeSpan.FromSeconds(20));

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal("ok", result.ReadOutputAs<string>());
        Assert.Equal(3, attempts);
        var finalHistory = await engine.Client.GetOrchestrationHistoryAsync(id);
        Assert.Equal(2, finalHistory.OfType<TaskFailed>().Count());
        Assert.Equal(3, finalHistory.OfType<TaskScheduled>().Count());
    }

    [Fact]
    public async Task RetryPolicy_GivesUpAfterMaxAttempts_AndSurfacesLastFailure()
    {
        await using var engine = await EngineFixture.StartAsync(Register(new RetryPolicy(2, TimeSpan.FromMinutes(1))));
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("AlwaysFailing");
        await engine.WaitForTimersAsync(id, 1);
        engine.Clock.Advance(TimeSpan.FromMinutes(1));

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal("attempt failed", result.FailureDetails!.InnerFailure!.ErrorMessage);
        Assert.Equal(2, (await engine.Client.GetOrchestrationHistoryAsync(id)).OfType<TaskFailed>().Count());
    }

    [Fact]
    public async Task RetryPolicy_HandlePredicateFalse_DoesNotRetry()
    {
        var policy = new RetryPolicy(5, TimeSpan.FromMinutes(1)) { HandleFailure = f => !f.IsCausedBy<InvalidOperationException>() };
        await using var engine = await EngineFixture.StartAsync(Register(policy));

        var result = await engine.Harness.RunAsync("AlwaysFailing");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        var history = await engine.Client.GetOrchestrationHistoryAsync(result.InstanceId);
        Assert.Single(history.OfType<TaskFailed>());
        Assert.Empty(history.OfType<TimerCreated>());
    }

    [Fact]
    public async Task RetryPolicy_RetryTimeout_StopsRetriesThatWouldStartTooLate()
    {
        await using var engine = await EngineFixture.StartAsync(Register(new RetryPolicy(10, TimeSpan.FromMinutes(1), 2.0, retryTimeout: TimeSpan.FromMinutes(2))));
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("AlwaysFailing");
        await engine.WaitForTimersAsync(id, 1);
        engine.Clock.Advance(TimeSpan.FromMinutes(1));

        // The second retry would start at 1 + 2 = 3 minutes, beyond the 2-minute budget.
        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(2, (await engine.Client.GetOrchestrationHistoryAsync(id)).OfType<TaskFailed>().Count());
    }

    [Fact]
    public void RetryPolicy_GetDelay_CapsAtMaxRetryInterval()
    {
        var policy = new RetryPolicy(10, TimeSpan.FromSeconds(1), 3.0, maxRetryInterval: TimeSpan.FromSeconds(20));

        Assert.Equal(TimeSpan.FromSeconds(1), policy.GetDelay(1));
        Assert.Equal(TimeSpan.FromSeconds(3), policy.GetDelay(2));
        Assert.Equal(TimeSpan.FromSeconds(9), policy.GetDelay(3));
        Assert.Equal(TimeSpan.FromSeconds(20), policy.GetDelay(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(0, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(1, TimeSpan.Zero));
    }

    private static Action<DurableTaskRegistry> Register(RetryPolicy policy) => registry => registry
        .AddActivityFunc<string?, string>("Boom", string (TaskActivityContext _, string? _) => throw new InvalidOperationException("attempt failed"))
        .AddOrchestratorFunc<string?, string>("AlwaysFailing", (context, _) =>
            context.CallActivityAsync<string>("Boom", null, TaskOptions.FromRetryPolicy(policy)));
}
