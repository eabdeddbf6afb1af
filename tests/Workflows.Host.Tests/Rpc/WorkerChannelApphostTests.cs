using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Workflows.Host.Rpc;
using Xunit;

namespace Workflows.Host.Tests.Rpc;

/// <summary>An app whose worker.config.json names its own apphost, as a self-contained build's does.</summary>
public sealed class WorkerChannelApphostTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "workflows-apphost-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task AppStartedThroughItsApphost_ServesInvocations()
    {
        var name = WorkerApp.AssemblyFileName[..^".dll".Length];
        var apphost = name + (OperatingSystem.IsWindows() ? ".exe" : string.Empty);
        Assert.True(File.Exists(Path.Combine(WorkerApp.Directory, apphost)), "The test app has no apphost.");
        CopyApp(WorkerApp.Directory, _folder);
        await File.WriteAllTextAsync(
            Path.Combine(_folder, WorkerLaunch.ConfigFileName),
            $$"""{ "description": { "language": "dotnet-isolated", "defaultExecutablePath": "{WorkerRoot}{{name}}", "defaultWorkerPath": "{{WorkerApp.AssemblyFileName}}", "workerIndexing": "true" } }""");
        var options = WorkerApp.Options();
        await using var channel = await WorkerApp.StartAsync(new WorkerChannelOptions { AppDirectory = _folder, HandshakeTimeout = options.HandshakeTimeout }, new ScopedLogs());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var response = await channel.InvokeAsync("Uppercase", [WorkerApp.ActivityInput("input", "\"apphost\"")], null, timeout.Token);

        using var process = System.Diagnostics.Process.GetProcessById(channel.ProcessId!.Value);
        Assert.Equal(Path.Combine(_folder, apphost), process.MainModule!.FileName);
        Assert.Equal(StatusResult.Types.Status.Success, response.Result.Status);
        Assert.Equal("APPHOST", response.ReturnValue.String);
    }

    private static void CopyApp(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
