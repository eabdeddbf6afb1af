using Workflows.Durable.History;
using Xunit;

namespace Workflows.Durable.Tests;

public sealed class TimerAndEventTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CreateTimer_FiresOnlyWhenFakeClockReachesIt(bool extendedSessions)
    {
        await using var engine = await EngineFixture.StartAsync(Register, extendedSessions ? null : EngineFixture.NoCache());
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Sleep", 60);
        var history = await engine.WaitForTimersAsync(id, 1);
        Assert.Equal(EngineFixture.Start.UtcDateTime.AddMinutes(60), history.OfType<TimerCreated>().Single().FireAt);

        engine.Clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await engine.Client.GetInstanceAsync(id))!.RuntimeStatus);
        engine.Clock.Advance(TimeSpan.FromMinutes(1));

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, Conformance.WorkerHarness.Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("01:00:00", result.ReadOutputAs<string>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WaitForExternalEvent_WithTimeout_EventWinsTheRace(bool extendedSessions)
    {
        await using var engine = await EngineFixture.StartAsync(Register, extendedSessions ? null : EngineFixture.NoCache());
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("WaitWithTimeout");
        await engine.WaitForTimersAsync(id, 1);

        await engine.Client.RaiseEventAsync(id, "Data", 5);

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, Conformance.WorkerHarness.Timeout());
        Assert.Equal("got 5", result.ReadOutputAs<string>());

        // The losing timer still fires later; the finished instance ignores it.
        engine.Clock.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await engine.Client.GetInstanceAsync(id))!.RuntimeStatus);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WaitForExternalEvent_WithTimeout_TimerWinsTheRace(bool extendedSessions)
    {
        await using var engine = await EngineFixture.StartAsync(Register, extendedSessions ? null : EngineFixture.NoCache());
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("WaitWithTimeout");
        await engine.WaitForTimersAsync(id, 1);

        engine.Clock.Advance(TimeSpan.FromMinutes(10));

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, Conformance.WorkerHarness.Timeout());
        Assert.Equal("timeout after 00:10:00", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task CancelledTimer_DoesNotCompleteTheWait_AndLateFiringIsIgnored()
    {
        await using var engine = await EngineFixture.StartAsync(Register);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("CancelTimer");

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, Conformance.WorkerHarness.Timeout());
        Assert.Equal("cancelled", result.ReadOutputAs<string>());
        engine.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await engine.Client.GetInstanceAsync(id))!.RuntimeStatus);
    }

    [Fact]
    public async Task EventsRaisedBeforeTheWait_AreBuffered_InOrder()
    {
        await using var engine = await EngineFixture.StartAsync(Register);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("TwoEventsAfterTimer");
        await engine.WaitForTimersAsync(id, 1);
        await engine.Client.RaiseEventAsync(id, "Item", "first");
        await engine.Client.RaiseEventAsync(id, "Item", "second");
        await engine.WaitForHistoryAsync(id, h => h.OfType<EventRaised>().Count() == 2);

        engine.Clock.Advance(TimeSpan.FromMinutes(1));

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, Conformance.WorkerHarness.Timeout());
        Assert.Equal("first,second", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task ScheduledStart_StaysPendingUntilStartTime()
    {
        await using var engine = await EngineFixture.StartAsync(Register);
        var startAt = EngineFixture.Start.AddHours(2);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Sleep", 0, new Durable.Client.StartOrchestrationOptions(StartAt: startAt));

        var pending = await engine.Client.GetInstanceAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Pending, pending!.RuntimeStatus);
        Assert.Equal(startAt, pending.ScheduledStartTime);

        engine.Clock.Advance(TimeSpan.FromHours(2));

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, Conformance.WorkerHarness.Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var started = (await engine.Client.GetOrchestrationHistoryAsync(id)).OfType<OrchestratorStarted>().First();
        Assert.Equal(startAt.UtcDateTime, started.Timestamp);
    }

    private static void Register(DurableTaskRegistry registry) => registry
        .AddOrchestratorFunc<int, string>("Sleep", async (context, minutes) =>
        {
            var start = context.CurrentUtcDateTime;
            await context.CreateTimer(TimeSpan.FromMinutes(minutes), CancellationToken.None);
            return (context.CurrentUtcDateTime - start).ToString();
        })
        .AddOrchestratorFunc<string?, string>("WaitWithTimeout", async (context, _) =>
        {
            var start = context.CurrentUtcDateTime;
            try
            {
                var value = await context.WaitForExternalEvent<int>("Data", TimeSpan.FromMinutes(10));
                return $"got {value}";
            }
            catch (TaskCanceledException)
            {
                return $"timeout after {context.CurrentUtcDateTime - start}";
            }
        })
        .AddOrchestratorFunc<string?, string>("CancelTimer", async (context, _) =>
        {
            using var cancellation = new CancellationTokenSource();
            var timer = context.CreateTimer(TimeSpan.FromHours(1), cancellation.Token);
            cancellation.Cancel();
            try
            {
                await timer;
                return "fired";
            }
            catch (TaskCanceledException)
            {
                return "cancelled";
            }
        })
        .AddOrchestratorFunc<string?, string>("TwoEventsAfterTimer", async (context, _) =>
        {
            await context.CreateTimer(TimeSpan.FromMinutes(1), CancellationToken.None);
            var first = await context.WaitForExternalEvent<string>("Item");
            var second = await context.WaitForExternalEvent<string>("Item");
            return $"{first},{second}";
        });
}
