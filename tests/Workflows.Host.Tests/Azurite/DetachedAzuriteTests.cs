using System.Globalization;
using Workflows.Host.Azurite;
using Xunit;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// The emulator a host starts for <c>UseDevelopmentStorage=true</c> must outlive the host: it runs in a session of its
/// own (a terminal's Ctrl+C for the host and the host's death do not reach it), writes to a log file rather than a pipe
/// the host owns, and can be taken over by the next host through its pid file. Linux only: it reads /proc.
/// </summary>
public sealed class DetachedAzuriteTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workflows-azurite-").FullName;

    [Fact]
    public async Task StartDetached_RunsInItsOwnSessionWritingToItsLog_AndIsTakenOverThroughItsPidFile()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var log = Path.Combine(_folder, "azurite.log");
        var root = AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory);
        await using var started = await AzuriteProcess.StartDetachedAsync(root, _folder, log);
        var pid = int.Parse(await File.ReadAllTextAsync(Path.ChangeExtension(log, ".pid")), CultureInfo.InvariantCulture);

        Assert.NotEqual(SessionOf(Environment.ProcessId), SessionOf(pid));
        Assert.Equal(pid, SessionOf(pid));
        Assert.Equal(Path.GetFullPath(log), new FileInfo($"/proc/{pid}/fd/1").LinkTarget);
        Assert.Equal(Path.GetFullPath(log), new FileInfo($"/proc/{pid}/fd/2").LinkTarget);
        Assert.True(await AzuriteProcess.IsListeningAsync(started.BlobPort, CancellationToken.None));
        Assert.Contains("successfully listening", await ReadSharedAsync(log), StringComparison.OrdinalIgnoreCase);

        // The next host takes it over and stops it on its clean stop.
        var adopted = AzuriteProcess.Adopt(log, started.BlobPort, started.QueuePort, started.TablePort);
        Assert.NotNull(adopted);
        await adopted.DisposeAsync();
        Assert.False(IsRunning(pid));
    }

    [Fact]
    public async Task Adopt_PidFileOfAnotherProgram_IsNotTakenOver()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var log = Path.Combine(_folder, "azurite.log");
        await File.WriteAllTextAsync(Path.ChangeExtension(log, ".pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));

        Assert.Null(AzuriteProcess.Adopt(log, 10000, 10001, 10002));
        Assert.Null(AzuriteProcess.Adopt(Path.Combine(_folder, "none.log"), 10000, 10001, 10002));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The session id: field 6 of /proc/{pid}/stat, counted after the command name in parentheses.</summary>
    private static int SessionOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[3], CultureInfo.InvariantCulture);
    }

    /// <summary>Whether the process exists and is not a zombie waiting for its parent (this test process) to reap it.</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
