namespace Workflows.Cli;

/// <summary>The exit codes of <c>durable</c> (docs/cli.md lists them); each failure kind has its own.</summary>
internal static class ExitCodes
{
    /// <summary>Done; with <c>--wait</c>, the instance completed.</summary>
    public const int Success = 0;

    /// <summary>The command line is wrong (System.CommandLine's usage error), or an input it names is unreadable or not JSON.</summary>
    public const int Usage = 1;

    /// <summary>With <c>--wait</c>: the instance finished other than Completed (Failed, Terminated, ...).</summary>
    public const int NotCompleted = 2;

    /// <summary>With <c>--wait --timeout</c>: the instance had not finished when the timeout passed.</summary>
    public const int WaitTimedOut = 3;

    /// <summary>No host answers at the URL (connection refused, name not resolved).</summary>
    public const int HostDown = 4;

    /// <summary>The host refused the key, or wants one and none was given (401/403).</summary>
    public const int KeyRefused = 5;

    /// <summary>No such instance or orchestrator function (404).</summary>
    public const int NotFound = 6;

    /// <summary>The host refused the request (any other 4xx: bad filter, instance exists, instance not in a state for the operation).</summary>
    public const int Refused = 7;

    /// <summary>The host failed (5xx), timed out or answered something that is not the Durable Functions HTTP API.</summary>
    public const int HostError = 8;

    /// <summary>Stopped by Ctrl+C.</summary>
    public const int Canceled = 130;
}
