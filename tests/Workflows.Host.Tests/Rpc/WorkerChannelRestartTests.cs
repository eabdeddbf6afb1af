using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Workflows.Host.Rpc;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests.Rpc;

public sealed class WorkerChannelRestartTests
{
    private static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task WorkerDiesMidInvocation_TheInvocationFails_AndANewWorkerServesTheNextOnes()
    {
        var delays = new List<TimeSpan>();
        var logs = new RecordingLoggerFactory();
        await using var channel = await WorkerApp.StartAsync(WorkerApp.Options(delays: delays), logs);
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        var firstProcess = channel.ProcessId!.Value;
        var firstFunctions = channel.Functions.Select(function => function.Name).Order(StringComparer.Ordinal).ToList();

        // The function ends its own process while the invocation is in flight.
        var error = await Assert.ThrowsAsync<WorkerExitedException>(() =>
            channel.InvokeAsync("Crash", [WorkerApp.ActivityInput("input", "\"crash\"")], null, timeout.Token));
        await channel.WaitUntilReadyAsync(timeout.Token);
        var response = await channel.InvokeAsync("Uppercase", [WorkerApp.ActivityInput("input", "\"again\"")], null, timeout.Token);

        Assert.Contains(firstProcess.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        Assert.NotEqual(firstProcess, channel.ProcessId);
        Assert.Equal(firstFunctions, channel.Functions.Select(function => function.Name).Order(StringComparer.Ordinal));
        Assert.Equal(StatusResult.Types.Status.Success, response.Result.Status);
        Assert.Equal("AGAIN", response.ReturnValue.String);
        Assert.Equal([WorkerApp.Options().RestartDelay], delays);
        Assert.Contains(logs.Logger.Entries, entry => entry.Level == Microsoft.Extensions.Logging.LogLevel.Warning && entry.Message.StartsWith($"Worker process {firstProcess} is gone", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_EndsTheWorkerProcess_AndLaterCallsAreRefused()
    {
        var logs = new ScopedLogs();
        var channel = await WorkerApp.StartAsync(WorkerApp.Options(), logs);
        var process = System.Diagnostics.Process.GetProcessById(channel.ProcessId!.Value);

        await channel.StopAsync(CancellationToken.None);

        using var timeout = new CancellationTokenSource(SafetyTimeout);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.HasExited);
        // It went on WorkerTerminate, within the grace period, and nobody was told it crashed.
        Assert.DoesNotContain(logs.Entries, entry => entry.Message.Contains("did not stop within", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, entry => entry.Message.Contains("is gone", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, entry => entry.Message.StartsWith($"Worker process {process.Id} stopped", StringComparison.Ordinal));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => channel.InvokeAsync("Uppercase", [WorkerApp.ActivityInput("input", "\"late\"")], null, timeout.Token));
    }

    [Fact]
    public void RestartDelay_DoublesPerFailedAttempt_UpToTheMaximum()
    {
        var options = new WorkerChannelOptions { AppDirectory = ".", RestartDelay = TimeSpan.FromSeconds(1), MaxRestartDelay = TimeSpan.FromSeconds(5) };

        Assert.Equal(
            [1, 2, 4, 5, 5],
            Enumerable.Range(0, 5).Select(attempt => options.RestartDelayFor(attempt).TotalSeconds));
    }
}
