using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Workflows.Host.Azurite;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests.Azurite;

/// <summary>
/// The host's executable running the function app's build output (<c>--WorkflowsAppPath</c>) from the repository root (<c>UseDevelopmentStorage=true</c>, the host starts
/// Azurite on ports of its own), one host after another on the same emulator, with their output gathered.
/// <see cref="CleanUpAsync"/> kills the hosts still running and the worker processes of hosts killed alone (a worker
/// outlives a host killed with SIGKILL), stops the emulator through its pid file and drops its data.
/// </summary>
internal sealed partial class FunctionAppProcesses
{
    private readonly List<Process> _hosts = [];
    private readonly List<int> _workers = [];
    private readonly StringBuilder _log = new();

    /// <summary>The repository root (the hosts' working directory, where the emulator keeps its data).</summary>
    public string Root { get; } = AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory);

    /// <summary>The host's build output (src/Workflows.Host, built with this test project in the same configuration).</summary>
    private string HostAssembly
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            var host = Path.Combine(Root, "src", "Workflows.Host", "bin", configuration, "net10.0", "Workflows.Host.dll");
            return File.Exists(host) ? host : throw new FileNotFoundException("The host is not built; build the test project first.", host);
        }
    }

    /// <summary>The worker processes the hosts started, in order (from the hosts' logs).</summary>
    public IReadOnlyList<int> Workers
    {
        get
        {
            lock (_log)
            {
                return [.. _workers];
            }
        }
    }

    /// <summary>The emulator's Blob port (Queue and Table take the next two); 0 before the first host.</summary>
    public int AzuritePort { get; private set; }

    /// <summary>
    /// Starts a host serving on <paramref name="httpPort"/> with the app settings <paramref name="settings"/> on top of
    /// run.sh's, and waits until it answers on <paramref name="http"/>.
    /// </summary>
    public async Task<Process> StartHostAsync(int httpPort, HttpClient http, IReadOnlyDictionary<string, string>? settings = null)
    {
        if (AzuritePort == 0)
        {
            AzuritePort = FreePortRun();
        }

        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(HostAssembly);
        info.ArgumentList.Add("--WorkflowsAppPath=" + TestApps.Functions);
        info.Environment["AzureWebJobsStorage"] = "UseDevelopmentStorage=true";
        info.Environment["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development";
        info.Environment["WorkflowsEnforceKeys"] = "false";
        info.Environment["WorkflowsAzuritePort"] = AzuritePort.ToString(CultureInfo.InvariantCulture);
        info.Environment["WorkflowsExportLocalSettings"] = "false";
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{httpPort}";
        info.Environment["WorkflowsGrpcPort"] = "0";
        foreach (var (name, value) in TestApps.SampleSettings.Concat(settings ?? new Dictionary<string, string>()))
        {
            info.Environment[name] = value;
        }

        var host = Process.Start(info) ?? throw new InvalidOperationException("could not start the host");
        _hosts.Add(host);
        host.OutputDataReceived += (_, e) => Append(e.Data);
        host.ErrorDataReceived += (_, e) => Append(e.Data);
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(host.HasExited, "the host exited during start-up:\n" + Logs());
            try
            {
                using var ready = await http.GetAsync(new Uri("admin/host/status", UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                {
                    return host;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(3), "the host did not start within 3 minutes:\n" + Logs());
            await Task.Delay(200);
        }
    }

    /// <summary>The instance's status through the Durable Functions HTTP API, with the options of <paramref name="query"/>.</summary>
    public static async Task<JsonElement> StatusAsync(HttpClient http, string instanceId, string query = "showInput=false")
    {
        using var response = await http.GetAsync(new Uri($"runtime/webhooks/durabletask/instances/{instanceId}?{query}", UriKind.Relative));
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted, $"status answered {response.StatusCode}"); // 202 while it runs, as Durable Functions
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>
    /// Polls the instance every <paramref name="interval"/> until <paramref name="done"/>; <paramref name="bound"/> only
    /// keeps a regression from hanging the suite.
    /// </summary>
    public async Task<JsonElement> EventuallyAsync(HttpClient http, string instanceId, Func<JsonElement, bool> done, TimeSpan bound, TimeSpan interval)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var status = await StatusAsync(http, instanceId);
                if (done(status))
                {
                    return status;
                }
            }
            catch (HttpRequestException)
            {
                // The host is still starting.
            }

            Assert.True(deadline.Elapsed < bound, $"{instanceId} did not get there within {bound.TotalSeconds} s:\n" + Logs());
            await Task.Delay(interval);
        }
    }

    /// <summary>SIGINT to <paramref name="host"/>: a clean stop, as Ctrl+C.</summary>
    public static async Task InterruptAsync(Process host)
    {
        using var interrupt = Process.Start("kill", ["-INT", host.Id.ToString(CultureInfo.InvariantCulture)]);
        await interrupt.WaitForExitAsync();
    }

    /// <summary>What the hosts wrote so far.</summary>
    public string Logs()
    {
        lock (_log)
        {
            return _log.ToString();
        }
    }

    /// <summary>Kills the hosts still running and every worker they started, stops the emulator through its pid file and drops its data.</summary>
    public async Task CleanUpAsync()
    {
        int[] workers;
        lock (_log)
        {
            workers = [.. _workers];
        }

        foreach (var host in _hosts)
        {
            if (!host.HasExited)
            {
                host.Kill(entireProcessTree: true);
                await host.WaitForExitAsync();
            }

            host.Dispose();
        }

        foreach (var pid in workers)
        {
            try
            {
                using var worker = Process.GetProcessById(pid);
                worker.Kill(entireProcessTree: true);
                await worker.WaitForExitAsync();
            }
            catch (ArgumentException)
            {
                // Gone already (it stopped with its host).
            }
        }

        if (AzuritePort == 0)
        {
            return;
        }

        // The emulator is not the hosts' child: stop it through its pid file, then drop its data.
        var location = Path.Combine(Root, $".azurite-{AzuritePort}");
        if (AzuriteProcess.Adopt(Path.Combine(location, "azurite.log"), AzuritePort, AzuritePort + 1, AzuritePort + 2) is { } left)
        {
            await left.DisposeAsync();
        }

        if (Directory.Exists(location))
        {
            Directory.Delete(location, recursive: true);
        }
    }

    /// <summary>A Blob port whose next two ports are free as well (Azurite's Queue and Table services take them).</summary>
    private static int FreePortRun()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = AzuriteProcess.FreePort();
            var listeners = new List<TcpListener>();
            try
            {
                foreach (var next in new[] { port, port + 1, port + 2 })
                {
                    var listener = new TcpListener(IPAddress.Loopback, next);
                    listener.Start();
                    listeners.Add(listener);
                }

                return port;
            }
            catch (SocketException) when (attempt < 50)
            {
            }
            finally
            {
                listeners.ForEach(l => l.Stop());
            }
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
                if (WorkerReady().Match(line) is { Success: true } ready)
                {
                    _workers.Add(int.Parse(ready.Groups[1].Value, CultureInfo.InvariantCulture));
                }
            }
        }
    }

    /// <summary>The host's line for a worker that has started (WorkerChannel, event 102).</summary>
    [GeneratedRegex(@"Worker process (\d+) is ready")]
    private static partial Regex WorkerReady();
}
