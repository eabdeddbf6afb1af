using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Workflows.Host.Azurite;
using Xunit;
using Xunit.Abstractions;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// The host executable running the function app, from the repository root as `./run.sh` runs it (<c>UseDevelopmentStorage=true</c>, the host starts
/// Azurite), killed with SIGKILL mid fan-out: the emulator it started keeps running, the next host takes it over and
/// its own partitions back, the run completes with its real creation time and a history with every step once, and a
/// clean stop (SIGINT) of that host stops the emulator too; a host whose emulator died stops within seconds. Linux only
/// (signals, /proc).
/// </summary>
[Collection(RepositoryRootHosts.Name)]
public sealed class HostKillTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Count = 2_000;
    private const string InstanceId = "kill-9";

    /// <summary>Most time from a new host's start to the completion of the run a killed host left.</summary>
    private static readonly TimeSpan ResumeBound = TimeSpan.FromSeconds(45);

    /// <summary>Most time from SIGINT to the exit of a host whose storage is gone.</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(20);

    private readonly FunctionAppProcesses _app = new();

    [Fact]
    public async Task KilledHost_LeavesItsAzuriteRunning_AndTheNextHostFinishesTheRunWithItsRealCreatedTime()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var httpPort = AzuriteProcess.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/"), Timeout = TimeSpan.FromMinutes(2) };

        var first = await _app.StartHostAsync(httpPort, http);
        using var start = await http.PostAsync(new Uri($"api/orchestrators/FanOutFanIn/{InstanceId}", UriKind.Relative), new StringContent(Count.ToString(CultureInfo.InvariantCulture), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var created = (await StatusAsync(http)).GetProperty("createdTime").GetString();
        var orphan = Assert.Single(_app.Workers);
        first.Kill(entireProcessTree: false); // SIGKILL to the host alone
        await first.WaitForExitAsync();
        Assert.True(IsRunning(orphan), "the killed host's worker outlives it");

        Assert.True(await AzuriteProcess.IsListeningAsync(_app.AzuritePort, CancellationToken.None), "the Azurite the killed host started must keep running");

        var restart = Stopwatch.StartNew();
        var second = await _app.StartHostAsync(httpPort, http);
        Assert.False(IsRunning(orphan), "the next host stops the worker the killed host left running");
        Assert.Contains($"Stopped worker process {orphan}, left running by host process {first.Id}", _app.Logs(), StringComparison.Ordinal);
        var status = await Eventually(http, s => s.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed");
        var resumed = restart.Elapsed;
        output.WriteLine($"completed {resumed.TotalSeconds:F1} s after the second host was started");

        // The next host takes the partitions back under the same worker name at once and the messages the killed host
        // held show again within the 10-s visibility timeout; waiting out the killed host's 60-s leases instead would
        // take longer than this bound (measured: about 13 s on a loaded 2-core machine, host start-up included).
        Assert.True(resumed < ResumeBound, $"the run completed {resumed.TotalSeconds:F1} s after the second host was started; the bound is {ResumeBound.TotalSeconds} s");

        Assert.Equal("Completed", status.GetProperty("runtimeStatus").GetString());
        Assert.Equal((long)(Count - 1) * Count * ((2 * Count) - 1) / 6, status.GetProperty("output").GetInt64());
        Assert.Equal(created, status.GetProperty("createdTime").GetString());
        Assert.DoesNotContain("0001-01-01", created, StringComparison.Ordinal);
        Assert.Contains("Took partition", _app.Logs(), StringComparison.Ordinal);

        // Every activity ran to a recorded result exactly once in history, whatever ran twice around the kill.
        var history = (await StatusAsync(http, "showInput=false&showHistory=true")).GetProperty("historyEvents").EnumerateArray().Select(e => e.GetProperty("EventType").GetString()).ToList();
        Assert.Equal(1, history.Count(e => e == "ExecutionStarted"));
        Assert.Equal(Count, history.Count(e => e == "TaskCompleted"));
        Assert.Equal(0, history.Count(e => e == "TaskFailed"));
        Assert.Equal(1, history.Count(e => e == "ExecutionCompleted"));

        // A clean stop of the host that took the emulator over stops the emulator, within seconds.
        var stop = Stopwatch.StartNew();
        await FunctionAppProcesses.InterruptAsync(second);

        await second.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"the host stopped {stop.Elapsed.TotalSeconds:F1} s after SIGINT (exit code {second.ExitCode})");
        Assert.Equal(0, second.ExitCode);
        Assert.False(await AzuriteProcess.IsListeningAsync(_app.AzuritePort, CancellationToken.None), "a clean stop stops the emulator the host took over");
    }

    [Fact]
    public async Task HostWhoseStorageIsGone_StillStopsWithinSeconds()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var httpPort = AzuriteProcess.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/"), Timeout = TimeSpan.FromMinutes(2) };
        var host = await _app.StartHostAsync(httpPort, http);
        using var start = await http.PostAsync(new Uri($"api/orchestrators/FanOutFanIn/{InstanceId}", UriKind.Relative), new StringContent(Count.ToString(CultureInfo.InvariantCulture), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);

        // The emulator dies under the running fan-out (SIGKILL through its pid file), then the host is asked to stop.
        var pidFile = Path.Combine(_app.Root, $".azurite-{_app.AzuritePort}", "azurite.pid");
        using (var emulator = Process.GetProcessById(int.Parse(await File.ReadAllTextAsync(pidFile), CultureInfo.InvariantCulture)))
        {
            emulator.Kill(entireProcessTree: true);
            await emulator.WaitForExitAsync();
        }

        var stop = Stopwatch.StartNew();
        await FunctionAppProcesses.InterruptAsync(host);

        await host.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var stopped = stop.Elapsed;
        output.WriteLine($"the host stopped {stopped.TotalSeconds:F1} s after SIGINT with its storage gone (exit code {host.ExitCode})");
        Assert.Equal(0, host.ExitCode);

        // Work in flight gets 5 s and giving work items back 2 s whatever storage answers (measured: about 8 s on a
        // loaded 2-core machine); storage retries left unbounded would take minutes.
        Assert.True(stopped < StopBound, $"the host stopped {stopped.TotalSeconds:F1} s after SIGINT with its storage gone; the bound is {StopBound.TotalSeconds} s");
    }

    private static Task<JsonElement> StatusAsync(HttpClient http, string query = "showInput=false") => FunctionAppProcesses.StatusAsync(http, InstanceId, query);

    /// <summary>Polls the instance until <paramref name="done"/>; the bound only keeps a regression from hanging the suite.</summary>
    private Task<JsonElement> Eventually(HttpClient http, Func<JsonElement, bool> done) =>
        _app.EventuallyAsync(http, InstanceId, done, TimeSpan.FromMinutes(4), TimeSpan.FromMilliseconds(250));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        output.WriteLine(_app.Logs());
        await _app.CleanUpAsync();
    }

    private static bool IsRunning(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
