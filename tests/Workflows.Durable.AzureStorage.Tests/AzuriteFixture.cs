using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Starts Azurite for the tests of this assembly: installs it from the repository's package.json with
/// <c>npm ci</c> when node_modules lacks it, runs it in memory on free ports, and stops it afterwards.
/// Nothing needs starting by hand.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime, IDisposable
{
    /// <summary>Azurite's well-known development account key (public, not a secret).</summary>
    private const string DevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private Process? _azurite;

    /// <summary>Connection string of the running emulator.</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var root = FindRepositoryRoot();
        var script = Path.Combine(root, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(script))
        {
            await RunToCompletionAsync("npm", "ci --no-audit --no-fund", root);
        }

        var (blob, queue, table) = (FreePort(), FreePort(), FreePort());
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            script, "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--loose",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", blob.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queuePort", queue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tablePort", table.ToString(System.Globalization.CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(argument);
        }

        // Azurite prints one "successfully listening" line per service once it accepts connections.
        var listening = 0;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _azurite = new Process { StartInfo = start, EnableRaisingEvents = true };
        _azurite.OutputDataReceived += (_, e) =>
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
        _azurite.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output.Enqueue(e.Data);
            }
        };
        _azurite.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("Azurite exited during start-up:\n" + string.Join('\n', output)));
        _azurite.Start();
        _azurite.BeginOutputReadLine();
        _azurite.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException exception)
        {
            throw new InvalidOperationException("Azurite did not start within 60 s:\n" + string.Join('\n', output), exception);
        }

        ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevelopmentKey};"
            + $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;"
            + $"QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;"
            + $"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";
    }

    public async Task DisposeAsync()
    {
        if (_azurite is { HasExited: false })
        {
            _azurite.Kill(entireProcessTree: true);
            await _azurite.WaitForExitAsync();
        }

        _azurite?.Dispose();
    }

    public void Dispose() => _azurite?.Dispose();

    /// <summary>Options for a fresh task hub with a unique name, so tests never share state.</summary>
    public AzureStorageOptions NewHub(int partitionCount = 4) => new()
    {
        ConnectionString = ConnectionString,
        TaskHubName = "t" + Guid.NewGuid().ToString("N")[..20],
        PartitionCount = partitionCount,
    };

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "package.json")) && File.Exists(Path.Combine(directory.FullName, "Workflows.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Could not find the repository root (package.json next to Workflows.sln) above " + AppContext.BaseDirectory);
    }

    private static async Task RunToCompletionAsync(string fileName, string arguments, string workingDirectory)
    {
        using var process = Process.Start(new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{fileName} {arguments}' failed with exit code {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
