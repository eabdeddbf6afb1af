using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Workflows.Host.Retention;
using Workflows.Host.TaskHub;
using Workflows.Host.Timers;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// host.json's retention policies on Azurite, the job's schedule on a fake clock (the task hub keeps real time, so
/// the clock starts a day ahead of the instances' creation): each run purges exactly the finished instances its
/// policies name once they are old enough, across several batches, and leaves running instances and other statuses
/// and names alone.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RetentionTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Each_run_purges_what_its_policies_name_once_old_enough_and_nothing_else()
    {
        // The job runs daily at the time of day of T0 + 12 h (T0: now, to the minute). Its first run, at D = T0 + 2 days
        // 12 h, has the one-day policy's cutoff after every instance this test creates and the three-day policy's
        // 12 h before them; the next day's run has that one's cutoff 12 h after them. No wall-clock boundary matters.
        var now = DateTimeOffset.UtcNow;
        var t0 = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);
        var first = t0.AddDays(2).AddHours(12);
        var start = first.AddMinutes(-1);
        var schedule = $"0 {first.Minute} {first.Hour} * * *";
        var clock = new FakeTimeProvider(start);
        var hub = "r" + Guid.NewGuid().ToString("N")[..20];
        await using var host = await TestHost.StartAsync(
            azurite.ConnectionString,
            $$"""
            { "extensions": { "durableTask": { "hubName": "{{hub}}" } },
              "workflows": { "retention": { "schedule": "{{schedule}}", "batchSize": 2, "batchPause": "00:00:00", "policies": [
                { "orchestration": "Greetings", "statuses": [ "Completed" ], "maxAge": "1.00:00:00" },
                { "orchestration": "*", "statuses": [ "Failed" ], "maxAge": "3.00:00:00" } ] } } }
            """,
            services => services.AddKeyedSingleton<TimeProvider>(TimerScheduler.ClockKey, clock),
            TestApps.Worker);
        var status = host.App.Services.GetRequiredService<TaskHubRuntime>().State;

        // Five completed Greetings (one with a payload large enough for blobs), a failed FailsOnce, a completed
        // UppercaseAll, a terminated and a running WaitForApproval.
        var greetings = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            greetings.Add(await host.RunToEndAsync("Greetings", i == 0 ? JsonSerializer.Serialize(new string('x', 200_000)) : "\"Lisbon\""));
        }

        var failed = await host.RunToEndAsync("FailsOnce", null, "Failed");
        var other = await host.RunToEndAsync("UppercaseAll", """["a","b"]""");
        var running = await host.StartAsync("WaitForApproval");
        var terminated = await host.StartAsync("WaitForApproval");
        await host.WaitForStatusAsync(running, static s => TestHost.IsStatus(s, "Running"));
        await host.WaitForStatusAsync(terminated, static s => TestHost.IsStatus(s, "Running"));
        using (var terminate = await host.PostAsync($"runtime/webhooks/durabletask/instances/{terminated}/terminate?reason=test"))
        {
            Assert.Equal(HttpStatusCode.Accepted, terminate.StatusCode);
        }

        await host.WaitForStatusAsync(terminated, static s => TestHost.IsStatus(s, "Terminated"));

        // The first run: the Greetings (over a day old by the job's clock) go, in three batches of two; the failed
        // instance is not three days old yet.
        clock.Advance(TimeSpan.FromMinutes(1));
        await WaitForRunAsync(status, first);
        foreach (var id in greetings)
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusCodeAsync(host, id));
        }

        foreach (var id in new[] { failed, other, running, terminated })
        {
            Assert.NotEqual(HttpStatusCode.NotFound, await StatusCodeAsync(host, id));
        }

        // A day later: the failed instance goes too; the completed UppercaseAll, the terminated and the running
        // WaitForApproval stay (no policy names them).
        clock.Advance(TimeSpan.FromDays(1));
        await WaitForRunAsync(status, first.AddDays(1));
        Assert.Equal(HttpStatusCode.NotFound, await StatusCodeAsync(host, failed));
        Assert.Equal(HttpStatusCode.OK, await StatusCodeAsync(host, other));
        Assert.Equal(HttpStatusCode.OK, await StatusCodeAsync(host, terminated));
        Assert.Equal(HttpStatusCode.Accepted, await StatusCodeAsync(host, running));
    }

    private static async Task<HttpStatusCode> StatusCodeAsync(TestHost host, string instanceId)
    {
        using var response = await host.Http.GetAsync(new Uri($"runtime/webhooks/durabletask/instances/{instanceId}", UriKind.Relative));
        return response.StatusCode;
    }

    /// <summary>Polls the job's persisted schedule until its run of <paramref name="occurrence"/> has returned.</summary>
    private static Task<bool> WaitForRunAsync(Workflows.Host.State.IHostStateStore status, DateTimeOffset occurrence) =>
        TestHost.PollAsync(async cancellationToken =>
        {
            var stored = await status.ReadAsync(TimerScheduler.StatusName(RetentionJob.Name), cancellationToken);
            return stored is not null && JsonSerializer.Deserialize<TimerStatus>(stored)?.Last == occurrence ? true : (bool?)null;
        });
}
