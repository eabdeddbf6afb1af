using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Workflows.Host.Rpc;

/// <summary>
/// One run of the app's worker process: started with the host's connection arguments and the app settings as
/// environment variables, its stdout and stderr forwarded to the log line by line (the last lines kept for error
/// messages), and killed with its process tree on request.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private const int TailLines = 20;

    private readonly Process _process;
    private readonly ILogger _logger;
    private readonly Queue<string> _stdoutTail = new();
    private readonly Queue<string> _stderrTail = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WorkerProcess(Process process, ILogger logger)
    {
        _process = process;
        _logger = logger;
        Exited = WaitForExitAsync();
    }

    /// <summary>The operating system's id of the process.</summary>
    public int Id { get; private set; }

    /// <summary>When the process started (UTC).</summary>
    public DateTime StartTime { get; private set; }

    /// <summary>Completes with the exit code once the process has exited and its output has been read to the end.</summary>
    public Task<int> Exited { get; }

    /// <summary>Starts <paramref name="launch"/> with <paramref name="hostArguments"/> after its own and <paramref name="environment"/> added to this process's.</summary>
    public static WorkerProcess Start(WorkerLaunch launch, IEnumerable<string> hostArguments, IReadOnlyDictionary<string, string> environment, string workingDirectory, ILogger logger)
    {
        var start = new ProcessStartInfo(launch.Executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            CreateNoWindow = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in launch.Arguments.Concat(hostArguments))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var worker = new WorkerProcess(process, logger);
        process.OutputDataReceived += (_, line) => worker.OnOutput(line.Data, error: false);
        process.ErrorDataReceived += (_, line) => worker.OnOutput(line.Data, error: true);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            worker._started.SetCanceled();
            process.Dispose();
            throw new WorkerStartException(workingDirectory, $"starting '{launch.Executable}' failed: {exception.Message}", exception);
        }

        worker.Id = process.Id;
        try
        {
            worker.StartTime = process.StartTime.ToUniversalTime();
        }
        catch (InvalidOperationException)
        {
            // Exited already: its exit is reported through Exited.
            worker.StartTime = DateTime.UtcNow;
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        worker._started.SetResult();
        return worker;
    }

    /// <summary>The last lines the process wrote to stderr, or to stdout when it wrote nothing to stderr; empty when it wrote nothing.</summary>
    public string OutputTail()
    {
        lock (_stdoutTail)
        {
            var lines = _stderrTail.Count > 0 ? _stderrTail : _stdoutTail;
            return string.Join(Environment.NewLine, lines);
        }
    }

    /// <summary>Kills the process and everything it started; nothing happens when it has exited already.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception exception) when (exception is InvalidOperationException or ObjectDisposedException)
        {
            // Exited (or never started) in the meantime.
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            WorkerChannelLog.KillFailed(_logger, Id, exception);
        }
    }

    /// <summary>Kills the process tree and waits up to <paramref name="wait"/> for it to be gone.</summary>
    public async Task KillAsync(TimeSpan wait)
    {
        Kill();
        try
        {
            await Exited.WaitAsync(wait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            WorkerChannelLog.KillFailed(_logger, Id, new TimeoutException($"Worker process {Id} was still running {wait} after it was killed."));
        }
        catch (OperationCanceledException)
        {
            // It never started.
        }
    }

    /// <summary>Kills the process tree; the process handle is released once its exit has been seen (<see cref="Exited"/>).</summary>
    public void Dispose() => Kill();

    private async Task<int> WaitForExitAsync()
    {
        await _started.Task.ConfigureAwait(false);
        using (_process)
        {
            await _process.WaitForExitAsync().ConfigureAwait(false);
            return _process.ExitCode;
        }
    }

    private void OnOutput(string? line, bool error)
    {
        if (line is null)
        {
            return;
        }

        lock (_stdoutTail)
        {
            var tail = error ? _stderrTail : _stdoutTail;
            tail.Enqueue(line);
            if (tail.Count > TailLines)
            {
                tail.Dequeue();
            }
        }

        if (error)
        {
            WorkerChannelLog.WorkerStandardError(_logger, Id, line);
        }
        else
        {
            WorkerChannelLog.WorkerStandardOutput(_logger, Id, line);
        }
    }
}
