using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Workflows.Host.Azurite;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>Settings of a worker process on a task hub (see the TestWorker project's command line).</summary>
internal sealed record TestWorkerSettings(
    string ConnectionString,
    string Hub,
    int Partitions,
    string JournalDirectory,
    TimeSpan ActivityDelay,
    int MaxConcurrentActivities = 8)
{
    /// <summary>Shortest lease Azure Storage allows, renewed often, so ownership moves within seconds in tests.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan LeaseRenewInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a killed worker's received messages stay invisible before another worker gets them; null for the
    /// backend's default (ours: 10 s; DTFx: 5 minutes). Short only where a test kills a worker: a busy worker holds prefetched
    /// messages for a while, and one whose lock expires meanwhile is run by another worker too.
    /// </summary>
    public TimeSpan? LockTimeout { get; init; }

    /// <summary>
    /// Which backend the worker runs the hub on: <c>workflows</c> (our task hub through <c>TaskHubOrchestrationService</c>)
    /// or <c>dtfx</c> (DTFx's <c>AzureStorageOrchestrationService</c>; no commit faults).
    /// </summary>
    public string Backend { get; init; } = "workflows";

    /// <summary>The worker's stable name (a restart with the same name takes its leases back at once); null for none.</summary>
    public string? WorkerId { get; init; }

    /// <summary>Where the worker kills itself: a commit step of an instance's n-th commit in that process.</summary>
    public (string Step, string InstanceId, int Commit)? CrashAt { get; init; }

    /// <summary>Where the worker freezes itself (SIGSTOP) until <see cref="TestWorkerProcess.ThawAsync"/>.</summary>
    public (string Step, string InstanceId, int Commit)? FreezeAt { get; init; }
}

/// <summary>
/// A worker in its own process (the TestWorker project run with <c>dotnet</c>), followed through the lines it
/// prints: ready, owned partitions, executed activities. <see cref="KillAsync"/> crashes it;
/// <see cref="StopAsync"/> stops it gracefully; <see cref="DisposeAsync"/> kills it if it still runs, so a failed
/// assertion never leaves a process behind.
/// </summary>
internal sealed class TestWorkerProcess : IAsyncDisposable
{
    private const string WorkerAssemblyName = "Workflows.Durable.AzureStorage.TestWorker";
    private const int TranscriptLines = 80;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _transcript = new();
    private readonly ConcurrentQueue<string> _faults = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int[] _owned = [];
    private int _executed;
    private bool _ready;
    private bool _stopped;
    private int _processId;

    private TestWorkerProcess(string name, string journalPath, Process process)
    {
        Name = name;
        JournalPath = journalPath;
        _process = process;
    }

    public string Name { get; }

    /// <summary>The file in which this process records each activity execution.</summary>
    public string JournalPath { get; }

    public int ProcessId => _processId;

    /// <summary>Activities it has executed so far, by its own count.</summary>
    public int Executed => Volatile.Read(ref _executed);

    /// <summary>Partitions it owned at its latest report.</summary>
    public IReadOnlyList<int> OwnedPartitions
    {
        get
        {
            lock (_gate)
            {
                return _owned;
            }
        }
    }

    /// <summary>The last lines it printed (stdout and stderr), for failure messages.</summary>
    public string Transcript => $"--- {Name} (pid {_processId}, executed {Executed}) ---{Environment.NewLine}{string.Join(Environment.NewLine, _transcript)}";

    /// <summary>Starts the worker process and waits until it reports that its worker runs.</summary>
    public static async Task<TestWorkerProcess> StartAsync(string name, TestWorkerSettings settings, CancellationToken cancellationToken)
    {
        var journalPath = Path.Combine(settings.JournalDirectory, name + ".journal");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            LocateWorkerAssembly(), "worker",
            "--connection-string", settings.ConnectionString,
            "--hub", settings.Hub,
            "--journal", journalPath,
            "--backend", settings.Backend,
            "--partitions", Invariant(settings.Partitions),
            "--lease-duration-s", Invariant((int)settings.LeaseDuration.TotalSeconds),
            "--lease-renew-ms", Invariant((int)settings.LeaseRenewInterval.TotalMilliseconds),
            "--activity-delay-ms", Invariant((int)settings.ActivityDelay.TotalMilliseconds),
            "--max-activities", Invariant(settings.MaxConcurrentActivities),
        })
        {
            start.ArgumentList.Add(argument);
        }

        if (settings.LockTimeout is { } lockTimeout)
        {
            start.ArgumentList.Add("--lock-timeout-s");
            start.ArgumentList.Add(Invariant((int)lockTimeout.TotalSeconds));
        }

        if (settings.WorkerId is { } workerId)
        {
            start.ArgumentList.Add("--worker-id");
            start.ArgumentList.Add(workerId);
        }

        if ((settings.CrashAt ?? settings.FreezeAt) is { } point)
        {
            var option = settings.CrashAt is null ? "--freeze-at" : "--crash-at";
            foreach (var argument in new[] { option, point.Step, "--crash-instance", point.InstanceId, "--crash-commit", Invariant(point.Commit) })
            {
                start.ArgumentList.Add(argument);
            }
        }

        var process = new Process { StartInfo = start };
        var worker = new TestWorkerProcess(name, journalPath, process);
        process.OutputDataReceived += (_, e) => worker.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                worker.Remember("stderr: " + e.Data);
            }
        };
        try
        {
            process.Start();
            worker._processId = process.Id;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await worker.WaitUntilAsync(w => w._ready, "report ready", cancellationToken);
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }

        return worker;
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, re-checking whenever the process prints a line; fails at
    /// once with the transcript if the process ends first, and when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task WaitUntilAsync(Func<TestWorkerProcess, bool> condition, string what, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }

            if (condition(this))
            {
                return;
            }

            if (_outputClosed.Task.IsCompleted)
            {
                throw new InvalidOperationException($"Worker {Name} ended before it did '{what}'.{Environment.NewLine}{Transcript}");
            }

            try
            {
                await Task.WhenAny(changed, _outputClosed.Task).WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException exception)
            {
                throw new TimeoutException($"Worker {Name} did not '{what}' in time.{Environment.NewLine}{Transcript}", exception);
            }
        }
    }

    /// <summary>Crashes the process and everything it started, as a power cut would: no cleanup, leases left to expire.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Whether the process printed this line about an injected fault ("crashing at ...", "freezing at ...", "thawed at ...").</summary>
    public bool Printed(string faultLine) => _faults.Contains(faultLine);

    /// <summary>Whether the process is stopped by a signal (state T in /proc), as a frozen machine would be.</summary>
    public bool IsFrozen()
    {
        var stat = File.ReadAllText($"/proc/{_processId}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('T');
    }

    /// <summary>Sends SIGCONT: a frozen process goes on from where it stopped.</summary>
    public async Task ThawAsync()
    {
        using var thaw = Process.Start("kill", ["-CONT", Invariant(_processId)]);
        await thaw.WaitForExitAsync();
        Assert.Equal(0, thaw.ExitCode);
    }

    /// <summary>Waits until the process has ended by itself (a crash it was told to make).</summary>
    public async Task WaitForExitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException exception)
        {
            throw new TimeoutException($"Worker {Name} did not end in time.{Environment.NewLine}{Transcript}", exception);
        }
    }

    /// <summary>Asks for a graceful stop (work in flight finishes, leases are released) and waits for the exit.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _process.StandardInput.WriteLineAsync("stop".AsMemory(), cancellationToken);
        await _process.StandardInput.FlushAsync(cancellationToken);
        await WaitUntilAsync(w => w._stopped, "stop gracefully", cancellationToken);
        await _process.WaitForExitAsync(cancellationToken);
        if (_process.ExitCode != 0)
        {
            throw new InvalidOperationException($"Worker {Name} exited with code {_process.ExitCode}.{Environment.NewLine}{Transcript}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await _process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>
    /// The worker's dll: the test project references the TestWorker project (without using its assembly) so it is
    /// built first, into the same bin/&lt;configuration&gt;/&lt;framework&gt; layout under its own project folder.
    /// </summary>
    private static string LocateWorkerAssembly()
    {
        var root = AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory);
        var testProject = Path.Combine(root, "tests", "Workflows.Durable.AzureStorage.Tests");
        var layout = Path.GetRelativePath(testProject, AppContext.BaseDirectory);
        var dll = Path.Combine(root, "tests", WorkerAssemblyName, layout, WorkerAssemblyName + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"The test worker is not built at {dll}; build the solution first.", dll);
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            _outputClosed.TrySetResult();
            return;
        }

        Remember(line);
        if (line.StartsWith("crashing at ", StringComparison.Ordinal) || line.StartsWith("freezing at ", StringComparison.Ordinal) || line.StartsWith("thawed at ", StringComparison.Ordinal))
        {
            _faults.Enqueue(line);
        }

        lock (_gate)
        {
            if (line.StartsWith("executed ", StringComparison.Ordinal))
            {
                // Lines arrive in order, but take the highest anyway: the count only grows.
                _executed = Math.Max(_executed, int.Parse(line.AsSpan("executed ".Length), CultureInfo.InvariantCulture));
            }
            else if (line.StartsWith("owned ", StringComparison.Ordinal))
            {
                var list = line["owned ".Length..];
                _owned = list == "none" ? [] : [.. list.Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture))];
            }
            else if (line.StartsWith("ready ", StringComparison.Ordinal))
            {
                _ready = true;
            }
            else if (line == "stopped")
            {
                _stopped = true;
            }

            var changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.TrySetResult();
        }
    }

    private void Remember(string? line)
    {
        if (line is null || line.StartsWith("executed ", StringComparison.Ordinal))
        {
            return;
        }

        _transcript.Enqueue(line);
        while (_transcript.Count > TranscriptLines && _transcript.TryDequeue(out _))
        {
        }
    }
}
