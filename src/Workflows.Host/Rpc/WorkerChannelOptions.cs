namespace Workflows.Host.Rpc;

/// <summary>What a <see cref="WorkerChannel"/> runs and how patiently.</summary>
internal sealed class WorkerChannelOptions
{
    /// <summary>The app's build output: the folder with its <c>worker.config.json</c>, <c>functions.metadata</c> and dll.</summary>
    public required string AppDirectory { get; init; }

    /// <summary>The worker process's working directory; default: <see cref="AppDirectory"/>.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>App settings (<c>local.settings.json</c> Values): environment variables of the worker process; their values are never logged.</summary>
    public IReadOnlyDictionary<string, string> AppSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>How long a worker may take from its start to its functions being loaded.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a worker may take to exit after WorkerTerminate before it is killed.</summary>
    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The wait before the first restart of a worker that died; each failed restart doubles it, up to <see cref="MaxRestartDelay"/>.</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between restart attempts.</summary>
    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How the channel waits before a restart (tests replace it to observe the delays without waiting).</summary>
    public Func<TimeSpan, CancellationToken, Task> Delay { get; init; } = Task.Delay;

    /// <summary>The largest gRPC message either side may send.</summary>
    public int GrpcMaxMessageLength { get; init; } = int.MaxValue;

    /// <summary>The delay before restart attempt <paramref name="attempt"/> (0 for the first).</summary>
    public TimeSpan RestartDelayFor(int attempt)
    {
        var delay = RestartDelay;
        for (var i = 0; i < attempt && delay < MaxRestartDelay; i++)
        {
            delay *= 2;
        }

        return delay < MaxRestartDelay ? delay : MaxRestartDelay;
    }
}
