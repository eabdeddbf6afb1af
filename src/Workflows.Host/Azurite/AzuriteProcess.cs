using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Workflows.Host.Azurite;

/// <summary>
/// Runs the Azurite storage emulator from the repository's node_modules (installing it with <c>npm ci</c> when
/// missing) on free loopback ports, in memory or with on-disk persistence. Used by tests, benchmarks and local
/// development; never in production.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account key (published by Microsoft; not a secret).</summary>
    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The lowest port <see cref="FreePort"/> chooses: above the well-known and most registered services' ports.</summary>
    private const int FirstChosenPort = 20000;

    private readonly Process _process;

    private int _disposed;

    private AzuriteProcess(Process process, int[] ports)
    {
        _process = process;
        ConnectionString = ConnectionStringFor(ports[0], ports[1], ports[2]);
        BlobPort = ports[0];
        QueuePort = ports[1];
        TablePort = ports[2];
    }

    /// <summary>Azurite's default Blob port (Queue and Table follow): where <c>UseDevelopmentStorage=true</c> points.</summary>
    public const int DefaultBlobPort = 10000;

    /// <summary>The connection string of an emulator with the development account on the given loopback ports.</summary>
    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevelopmentAccountKey};"
        + $"BlobEndpoint=http://127.0.0.1:{Invariant(blobPort)}/devstoreaccount1;"
        + $"QueueEndpoint=http://127.0.0.1:{Invariant(queuePort)}/devstoreaccount1;"
        + $"TableEndpoint=http://127.0.0.1:{Invariant(tablePort)}/devstoreaccount1;";

    /// <summary>Connection string of the running emulator.</summary>
    public string ConnectionString { get; }

    /// <summary>The loopback port of the Blob service.</summary>
    public int BlobPort { get; }

    /// <summary>The loopback port of the Queue service.</summary>
    public int QueuePort { get; }

    /// <summary>The loopback port of the Table service.</summary>
    public int TablePort { get; }

    /// <summary>
    /// Starts Azurite from <paramref name="repositoryRoot"/> (the folder with package.json) as this process's child on
    /// free loopback ports, its output read through pipes (tests, benchmarks). With <paramref name="location"/> it
    /// persists there; without, it keeps everything in memory. Ports another process took between their choice and
    /// the emulator's bind are chosen again.
    /// </summary>
    public static Task<AzuriteProcess> StartAsync(string repositoryRoot, string? location = null, CancellationToken cancellationToken = default) =>
        OnFreePortsAsync(FreePort, ports => StartAsync(repositoryRoot, location, ports, logFile: null, cancellationToken));

    /// <summary>
    /// As <see cref="StartAsync(string, string?, CancellationToken)"/> with the ports chosen by <paramref name="choosePort"/>
    /// (tests hand out ports that are taken).
    /// </summary>
    internal static Task<AzuriteProcess> StartAsync(string repositoryRoot, Func<int> choosePort, CancellationToken cancellationToken) =>
        OnFreePortsAsync(choosePort, ports => StartAsync(repositoryRoot, null, ports, logFile: null, cancellationToken));

    /// <summary>
    /// Starts Azurite on the given loopback ports (its defaults 10000–10002 make <c>UseDevelopmentStorage=true</c>
    /// find it), persisting under <paramref name="location"/>, detached from this process: it keeps running when this
    /// process dies, and writes its output to <paramref name="logFile"/>. On Windows it is started as a child.
    /// </summary>
    public static Task<AzuriteProcess> StartDetachedAsync(
        string repositoryRoot, string location, int blobPort, int queuePort, int tablePort, string logFile, CancellationToken cancellationToken = default) =>
        StartAsync(repositoryRoot, location, [blobPort, queuePort, tablePort], logFile, cancellationToken);

    /// <summary>As <see cref="StartDetachedAsync(string, string, int, int, int, string, CancellationToken)"/>, on free loopback ports.</summary>
    public static Task<AzuriteProcess> StartDetachedAsync(string repositoryRoot, string location, string logFile, CancellationToken cancellationToken = default) =>
        OnFreePortsAsync(FreePort, ports => StartAsync(repositoryRoot, location, ports, logFile, cancellationToken));

    /// <summary>
    /// Free ports are chosen before the emulator binds them, so another process can take one in between (under a
    /// parallel test run it happens): the start is tried again on newly chosen ports a few times.
    /// </summary>
    private static async Task<AzuriteProcess> OnFreePortsAsync(Func<int> choosePort, Func<int[], Task<AzuriteProcess>> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start([choosePort(), choosePort(), choosePort()]).ConfigureAwait(false);
            }
            catch (PortTakenException) when (attempt < 5)
            {
            }
        }
    }

    private static async Task<AzuriteProcess> StartAsync(string repositoryRoot, string? location, int[] ports, string? logFile, CancellationToken cancellationToken)
    {
        var script = Path.Combine(repositoryRoot, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(script))
        {
            await RunToCompletionAsync("npm", "ci --no-audit --no-fund", repositoryRoot, cancellationToken).ConfigureAwait(false);
        }

        var arguments = new List<string> { script };
        arguments.AddRange(location is null ? ["--inMemoryPersistence"] : ["--location", location]);
        arguments.AddRange(
        [
            "--skipApiVersionCheck", "--disableTelemetry", "--loose",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", Invariant(ports[0]), "--queuePort", Invariant(ports[1]), "--tablePort", Invariant(ports[2]),
        ]);
        var process = logFile is not null && !OperatingSystem.IsWindows()
            ? await LaunchDetachedAsync(repositoryRoot, arguments, logFile, ports, cancellationToken).ConfigureAwait(false)
            : await LaunchAttachedAsync(repositoryRoot, arguments, cancellationToken).ConfigureAwait(false);
        return new AzuriteProcess(process, ports);
    }

    /// <summary>A child whose output is read through pipes; ready when it says all three services listen.</summary>
    private static async Task<Process> LaunchAttachedAsync(string repositoryRoot, List<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = repositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        arguments.ForEach(start.ArgumentList.Add);

        // Azurite prints one "successfully listening" line per service once it accepts connections.
        var listening = 0;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new ConcurrentQueue<string>();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            output.Enqueue(e.Data);
            if (e.Data.Contains("successfully listening", StringComparison.OrdinalIgnoreCase) && Interlocked.Increment(ref listening) == 3)
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output.Enqueue(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // The exit is reported once its output is read to the end: the reason (EADDRINUSE among others) is in the
        // last lines, which can still be in the pipes when the process is seen to exit.
        _ = process.WaitForExitAsync(CancellationToken.None).ContinueWith(
            _ => ready.TrySetException(ExitedDuringStartUp(string.Join('\n', output))),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        try
        {
            await ready.Task.WaitAsync(StartTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw new InvalidOperationException($"Azurite did not start within {StartTimeout.TotalSeconds:F0} s:\n" + string.Join('\n', output), exception);
        }

        return process;
    }

    /// <summary>
    /// An emulator that outlives its starter: its own session (so a terminal's Ctrl+C, meant for the host, does not
    /// reach it, and the host's death does not take it along), its output appended to <paramref name="logFile"/>
    /// (no pipe that dies with the host), stdin from /dev/null. Ready when all three ports accept connections.
    /// </summary>
    private static async Task<Process> LaunchDetachedAsync(
        string repositoryRoot, List<string> arguments, string logFile, int[] ports, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logFile))!);
        var detach = File.Exists("/usr/bin/setsid") || File.Exists("/bin/setsid") ? "exec setsid \"$0\" \"$@\"" : "exec \"$0\" \"$@\"";
        var start = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = repositoryRoot,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(detach + " >>\"$WORKFLOWS_AZURITE_LOG\" 2>&1 </dev/null");
        start.ArgumentList.Add("node");
        arguments.ForEach(start.ArgumentList.Add);
        start.Environment["WORKFLOWS_AZURITE_LOG"] = logFile;
        var logLength = File.Exists(logFile) ? new FileInfo(logFile).Length : 0;
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start Azurite.");
        await File.WriteAllTextAsync(PidFile(logFile), Invariant(process.Id), cancellationToken).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        try
        {
            foreach (var port in ports)
            {
                while (!await IsListeningAsync(port, timeout.Token).ConfigureAwait(false))
                {
                    if (process.HasExited)
                    {
                        throw ExitedDuringStartUp($"exit code {process.ExitCode}, log {logFile}:\n" + await ReadFromAsync(logFile, logLength, cancellationToken).ConfigureAwait(false));
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException exception)
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw new InvalidOperationException($"Azurite did not start within {StartTimeout.TotalSeconds:F0} s; its log is {logFile}.", exception);
        }

        return process;
    }

    /// <summary>
    /// The detached emulator that <see cref="StartDetachedAsync(string, string, int, int, int, string, CancellationToken)"/> started with <paramref name="logFile"/> on the given ports and that still
    /// runs (its starter was killed), so that whoever takes it over stops it on a clean stop; null when there is none
    /// (nothing recorded, the process gone, or the recorded id now belongs to another program).
    /// </summary>
    public static AzuriteProcess? Adopt(string logFile, int blobPort, int queuePort, int tablePort)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(PidFile(logFile))
            || !int.TryParse(File.ReadAllText(PidFile(logFile)), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return null;
        }

        try
        {
            var commandLine = File.ReadAllText($"/proc/{Invariant(pid)}/cmdline");
            return commandLine.Contains("azurite.js", StringComparison.Ordinal)
                ? new AzuriteProcess(Process.GetProcessById(pid), [blobPort, queuePort, tablePort])
                : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    private static InvalidOperationException ExitedDuringStartUp(string output) =>
        output.Contains("EADDRINUSE", StringComparison.Ordinal)
            ? new PortTakenException("Azurite could not bind its ports:\n" + output)
            : new InvalidOperationException("Azurite exited during start-up:\n" + output);

    /// <summary>What <paramref name="path"/> holds past its first <paramref name="offset"/> bytes (another process may still write it).</summary>
    private static async Task<string> ReadFromAsync(string path, long offset, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        reader.BaseStream.Seek(Math.Min(offset, reader.BaseStream.Length), SeekOrigin.Begin);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string PidFile(string logFile) => Path.ChangeExtension(logFile, ".pid");

    /// <summary>Whether something accepts TCP connections on 127.0.0.1:<paramref name="port"/> (within 2 s).</summary>
    public static async Task<bool> IsListeningAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception exception) when (exception is SocketException || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>The folder above <paramref name="start"/> that holds package.json next to Workflows.sln.</summary>
    public static string FindRepositoryRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "package.json")) && File.Exists(Path.Combine(directory.FullName, "Workflows.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Could not find the repository root (package.json next to Workflows.sln) above " + start);
    }

    /// <summary>Stops the emulator.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A TCP port on the loopback interface that nothing listens on now, chosen at random below the system's ephemeral
    /// range (where outgoing connections take their local ports) so that it stays free until it is bound.
    /// </summary>
    public static int FreePort()
    {
        var ephemeralLow = EphemeralRangeStart();
        for (var attempt = 0; attempt < 64 && ephemeralLow > FirstChosenPort + 1; attempt++)
        {
            var port = Random.Shared.Next(FirstChosenPort, ephemeralLow);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The first port of the ephemeral range: Linux's ip_local_port_range, else the IANA range's start.</summary>
    private static int EphemeralRangeStart()
    {
        const string Range = "/proc/sys/net/ipv4/ip_local_port_range";
        try
        {
            var first = File.Exists(Range) ? File.ReadAllText(Range).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0] : null;
            return first is not null && int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var low) ? low : 49152;
        }
        catch (IOException)
        {
            return 49152;
        }
    }

    private static async Task RunToCompletionAsync(string fileName, string arguments, string workingDirectory, CancellationToken cancellationToken)
    {
        using var process = Process.Start(new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{fileName} {arguments}' failed with exit code {process.ExitCode}:\n{await stdout.ConfigureAwait(false)}\n{await stderr.ConfigureAwait(false)}");
        }
    }
}

/// <summary>Azurite exited because a port it was given was taken by then.</summary>
internal sealed class PortTakenException(string message) : InvalidOperationException(message);
