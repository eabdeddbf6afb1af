namespace Workflows.Host.Rpc;

/// <summary>
/// The app's worker could not be started: no app folder, no usable <c>worker.config.json</c>, a process that exits
/// before it connects (an app built for a .NET that is not installed, say: the worker's last output lines are in the
/// message), a failed initialization or function load, or a handshake that did not finish in time.
/// </summary>
internal sealed class WorkerStartException : Exception
{
    public WorkerStartException()
        : this(string.Empty, "The worker could not be started.")
    {
    }

    public WorkerStartException(string message)
        : this(string.Empty, message)
    {
    }

    public WorkerStartException(string message, Exception innerException)
        : base(message, innerException)
    {
        AppDirectory = string.Empty;
    }

    public WorkerStartException(string appDirectory, string reason, Exception? innerException = null)
        : base(Describe(appDirectory, reason), innerException)
    {
        AppDirectory = appDirectory;
    }

    /// <summary>The app folder whose worker could not be started.</summary>
    public string AppDirectory { get; }

    private static string Describe(string appDirectory, string reason) =>
        string.IsNullOrEmpty(appDirectory) ? reason : $"The worker of the function app in '{appDirectory}' could not be started: {reason}";
}
