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
        using var firings = new TimerFirings();
        await using var host = await StartAsync(clock, firings);
        await WaitForNextAsync(host, FirstOccurrence);
        Assert.Empty(firings.Read(Timer));

        clock.Advance(TimeSpan.FromMinutes(5));
        var fired = await firings.FirstAsync(Timer);
        await WaitForNextAsync(host, FirstOccurrence.AddMinutes(5));

        // During a run the schedule status holds the previous occurrence (none yet) and this one.
        Assert.False(fired.IsPastDue);
        Assert.Equal(DateTimeOffset.MinValue, fired.Last);
        Assert.Equal(FirstOccurrence, fired.Next);
        Assert.Equal(FirstOccurrence.AddSeconds(10), fired.LastUpdated);
        Assert.Single(firings.Read(Timer));
    }

    [Fact]
    public async Task OccurrencesMissedWhileDown_FireOncePastDueAtNextStart()
    {
        var hostJson = HostJson();
        using (var early = new TimerFirings())
        {
            await using (var first = await StartAsync(new FakeTimeProvider(Start), early, hostJson))
            {
                await WaitForNextAsync(first, FirstOccurrence);
            }

            Assert.Empty(early.Read(Timer));
        }

        using var firings = new TimerFirings();
        await using var second = await StartAsync(new FakeTimeProvider(Start.AddMinutes(17)), firings, hostJson);
        var fired = await firings.FirstAsync(Timer);
        await WaitForNextAsync(second, new DateTimeOffset(2026, 1, 1, 0, 20, 0, TimeSpan.Zero));

        // Three occurrences (00:05, 00:10, 00:15) were missed: one run, for the first of them, past due.
        Assert.True(fired.IsPastDue);
        Assert.Equal(FirstOccurrence, fired.Next);
        Assert.Equal(DateTimeOffset.MinValue, fired.Last);
        Assert.Equal(Start.AddMinutes(17), fired.LastUpdated);
        Assert.Single(firings.Read(Timer));
    }

    [Fact]
    public async Task RunOnStartup_FiresWhenTheHostStarts()
    {
        using var firings = new TimerFirings();
        await using var host = await StartAsync(new FakeTimeProvider(Start), firings);

        var fired = await firings.FirstAsync("OnStartup");

        // A yearly schedule whose next occurrence is months away: the run is the start-up one, "scheduled" now.
        Assert.False(fired.IsPastDue);
        Assert.Equal(Start, fired.Next);
        Assert.Equal(DateTimeOffset.MinValue, fired.Last);
        Assert.Single(firings.Read("OnStartup"));
    }

    [Fact]
    public async Task TwoHostsOnOneHub_ExactlyOneRunsTheTimer()
    {
        var hostJson = HostJson();
        using var firings = new TimerFirings();
        await using var first = await StartAsync(new FakeTimeProvider(Start), firings, hostJson);
        await using var second = await StartAsync(new FakeTimeProvider(Start), firings, hostJson);
        var schedulers = new[] { first, second }.Select(static h => h.App.Services.GetRequiredService<TimerScheduler>()).ToArray();

        await Task.WhenAll(schedulers.Select(static s => s.FirstLeaseAttempt(Timer)));

        Assert.Single(schedulers, static s => s.Holds(Timer));
    }

    private static string HostJson() =>
        $$"""{ "extensions": { "durableTask": { "hubName": "t{{Guid.NewGuid().ToString("N")[..20]}}" } } }""";

    /// <summary>A host on the test worker app whose timers run on <paramref name="clock"/> and record their firings in <paramref name="firings"/>' folder.</summary>
    private Task<TestHost> StartAsync(FakeTimeProvider clock, TimerFirings firings, string? hostJson = null) =>
        TestHost.StartAsync(
            azurite.ConnectionString,
            hostJson,
            services => services.AddKeyedSingleton<TimeProvider>(TimerScheduler.ClockKey, clock),
            TestApps.Worker,
            firings.Setting);

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

    /// <summary>
    /// The firings the test worker app's timers record when its <c>TimerProbeFolder</c> app setting names a folder: one
    /// JSON file per firing, <c>{function}-{utc ticks}-{guid}.json</c>, holding the schedule status the function was given.
    /// </summary>
    private sealed class TimerFirings : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("workflows-timer-firings-").FullName;

        /// <summary>The app setting that points the worker's timers at this folder.</summary>
        public string Setting => "TimerProbeFolder=" + _folder;

        /// <summary>The firings of <paramref name="function"/> recorded so far, oldest first.</summary>
        public IReadOnlyList<Firing> Read(string function) =>
            [.. Directory.GetFiles(_folder, function + "-*.json")
                .Order(StringComparer.Ordinal)
                .Select(static file => JsonSerializer.Deserialize<Firing>(File.ReadAllText(file)))];

        /// <summary>Polls until <paramref name="function"/> has fired; returns its first firing.</summary>
        public Task<Firing> FirstAsync(string function) =>
            TestHost.PollAsync(_ => Task.FromResult(Read(function) is [var first, ..] ? first : (Firing?)null));

        public void Dispose() => Directory.Delete(_folder, recursive: true);
    }

    /// <summary>One recorded firing: the TimerInfo the function was bound (schedule status as the worker read it).</summary>
    private readonly record struct Firing(bool IsPastDue, DateTimeOffset? Last, DateTimeOffset? Next, DateTimeOffset? LastUpdated);
}
