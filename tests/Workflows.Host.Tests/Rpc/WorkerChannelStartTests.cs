using System.Text.Json;
using Workflows.Host.Rpc;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests.Rpc;

/// <summary>Workers that cannot start: each failure is a <see cref="WorkerStartException"/> naming the app folder and the reason.</summary>
public sealed class WorkerChannelStartTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "workflows-worker-" + Guid.NewGuid().ToString("N"));

    public WorkerChannelStartTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task MissingAppFolder_NamesTheFolder()
    {
        var missing = Path.Combine(_folder, "no-such-app");

        var error = await StartFailsAsync(missing);

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FolderWithoutWorkerConfig_SaysSo()
    {
        var error = await StartFailsAsync(_folder);

        Assert.Contains(_folder, error.Message, StringComparison.Ordinal);
        Assert.Contains("no worker.config.json", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ \"description\": ", "not valid JSON")]
    [InlineData("{ \"language\": \"dotnet-isolated\" }", "no \"description\"")]
    [InlineData("{ \"description\": { \"language\": \"dotnet-isolated\" } }", "neither \"defaultExecutablePath\" nor \"defaultWorkerPath\"")]
    [InlineData("{ \"description\": { \"defaultExecutablePath\": \"dotnet\", \"defaultWorkerPath\": \"Missing.dll\" } }", "'Missing.dll', which is not in the app folder")]
    [InlineData("{ \"description\": { \"defaultExecutablePath\": \"{WorkerRoot}NoSuchApp\" } }", "NoSuchApp' failed")]
    public async Task BadWorkerConfig_SaysWhatIsWrong(string config, string reason)
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, WorkerLaunch.ConfigFileName), config);

        var error = await StartFailsAsync(_folder);

        Assert.Contains(_folder, error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppBuiltForAFrameworkThatIsNotInstalled_ExitsBeforeConnecting_WithTheWorkersOutputInTheMessage()
    {
        // The test app's own dll and worker.config.json, with a runtimeconfig asking for a .NET that does not exist.
        File.Copy(Path.Combine(WorkerApp.Directory, WorkerLaunch.ConfigFileName), Path.Combine(_folder, WorkerLaunch.ConfigFileName));
        File.Copy(Path.Combine(WorkerApp.Directory, WorkerApp.AssemblyFileName), Path.Combine(_folder, WorkerApp.AssemblyFileName));
        var runtimeConfig = Path.Combine(_folder, Path.ChangeExtension(WorkerApp.AssemblyFileName, ".runtimeconfig.json"));
        await File.WriteAllTextAsync(runtimeConfig, JsonSerializer.Serialize(new
        {
            runtimeOptions = new { tfm = "net99.0", framework = new { name = "Microsoft.NETCore.App", version = "99.0.0" } },
        }));

        var error = await StartFailsAsync(_folder);

        Assert.Contains(_folder, error.Message, StringComparison.Ordinal);
        Assert.Contains("exited with code", error.Message, StringComparison.Ordinal);
        Assert.Contains("You must install or update .NET", error.Message, StringComparison.Ordinal);
        Assert.Contains("99.0.0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkerThatNeverConnects_TimesOut_AndIsKilled()
    {
        var pidFile = Path.Combine(_folder, "pid");
        await File.WriteAllTextAsync(Path.Combine(_folder, "silent.sh"), $"echo $$ > '{pidFile}'\nexec sleep 300\n");
        await File.WriteAllTextAsync(
            Path.Combine(_folder, WorkerLaunch.ConfigFileName),
            """{ "description": { "defaultExecutablePath": "/bin/sh", "defaultWorkerPath": "silent.sh" } }""");

        var error = await StartFailsAsync(_folder, TimeSpan.FromSeconds(2));

        Assert.Contains("within 2 s", error.Message, StringComparison.Ordinal);
        var pid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(HasExited(pid), $"The silent worker {pid} still runs.");
    }

    private static bool HasExited(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    private static async Task<WorkerStartException> StartFailsAsync(string appDirectory, TimeSpan? handshakeTimeout = null)
    {
        var options = new WorkerChannelOptions { AppDirectory = appDirectory, HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(60) };
        await using var channel = new WorkerChannel(options, new RecordingLoggerFactory());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        var error = await Assert.ThrowsAsync<WorkerStartException>(() => channel.StartAsync(timeout.Token));

        // Whoever waits for the worker learns why there is none.
        Assert.Same(error, await Assert.ThrowsAsync<WorkerStartException>(() => channel.WaitUntilReadyAsync(timeout.Token)));
        return error;
    }
}
