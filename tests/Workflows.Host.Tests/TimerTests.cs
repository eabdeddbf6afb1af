using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Workflows.Host.Hosting;
using Workflows.Host.TaskHub;
using Workflows.Host.Timers;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests;

/// <summary>Timer triggers on a fake clock (timers only; the task hub on Azurite keeps real time).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TimerTests(AzuriteFixture azurite)
{
    private const string Timer = "EveryFiveMinutes";
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 10, TimeSpan.Zero);
    private static readonly DateTimeOffset FirstOccurrence = new(2026, 1, 1, 0, 5, 0, TimeSpan.Zero);

    [Fact]
    public async Task FakeClockReachesOccurrence_FiresOnceWithScheduleInfo()
    {
        var clock = new FakeTimeProvider(Start);
        var probe = new TimerProbe();
        await using var host = await StartAsync(clock, probe);
        await WaitForNextAsync(host, FirstOccurrence);

        clock.Advance(TimeSpan.FromMinutes(5));
        var fired = await probe.NextAsync(Timer);
        await WaitForNextAsync(host, FirstOccurrence.AddMinutes(5));

        Assert.Equal(FirstOccurrence, fired.ScheduledTime);
        Assert.False(fired.IsPastDue);
        Assert.Equal(FirstOccurrence.AddMinutes(5), fired.Next);
        Assert.False(probe.TryNext(Timer, out _));
    }

    [Fact]
    public async Task OccurrencesMissedWhileDown_FireOncePastDueAtNextStart()
    {
        var hostJson = HostJson();
        await using (var first = await StartAsync(new FakeTimeProvider(Start), new TimerProbe(), hostJson))
        {
            await WaitForNextAsync(first, FirstOccurrence);
        }

        var probe = new TimerProbe();
        await using var second = await StartAsync(new FakeTimeProvider(Start.AddMinutes(17)), probe, hostJson);
        var fired = await probe.NextAsync(Timer);
        await WaitForNextAsync(second, new DateTimeOffset(2026, 1, 1, 0, 20, 0, TimeSpan.Zero));

        Assert.True(fired.IsPastDue);
        Assert.Equal(FirstOccurrence, fired.ScheduledTime);
        Assert.False(probe.TryNext(Timer, out _));
    }

    [Fact]
    public async Task RunOnStartup_FiresWhenTheHostStarts()
    {
        var probe = new TimerProbe();
        await using var host = await StartAsync(new FakeTimeProvider(Start), probe);

        var fired = await probe.NextAsync("OnStartup");

        Assert.Equal(Start, fired.ScheduledTime);
        Assert.False(fired.IsPastDue);
    }

    [Fact]
    public async Task TwoHostsOnOneHub_ExactlyOneRunsTheTimer()
    {
        var hostJson = HostJson();
        await using var first = await StartAsync(new FakeTimeProvider(Start), new TimerProbe(), hostJson);
        await using var second = await StartAsync(new FakeTimeProvider(Start), new TimerProbe(), hostJson);
        var schedulers = new[] { first, second }.Select(static h => h.App.Services.GetRequiredService<TimerScheduler>()).ToArray();

        await Task.WhenAll(schedulers.Select(static s => s.FirstLeaseAttempt(Timer)));

        Assert.Single(schedulers, static s => s.Holds(Timer));
    }

    private static string HostJson() =>
        $$"""{ "extensions": { "durableTask": { "hubName": "t{{Guid.NewGuid().ToString("N")[..20]}}" } } }""";

    private Task<TestHost> StartAsync(FakeTimeProvider clock, TimerProbe probe, string? hostJson = null) =>
        TestHost.StartAsync(azurite.ConnectionString, hostJson, services =>
        {
            services.AddKeyedSingleton<TimeProvider>(TimerScheduler.ClockKey, clock);
            services.AddSingleton(probe);
        });

    /// <summary>Polls the persisted timer status until its next occurrence is <paramref name="expected"/>.</summary>
    private static Task<bool> WaitForNextAsync(TestHost host, DateTimeOffset expected)
    {
        var store = host.App.Services.GetRequiredService<TaskHubRuntime>().State;
        return TestHost.PollAsync(async cancellationToken =>
        {
            var stored = await store.ReadAsync(TimerScheduler.StatusName(Timer), cancellationToken);
            return stored is not null && JsonSerializer.Deserialize<TimerStatus>(stored)?.Next == expected ? true : (bool?)null;
        });
    }
}
