namespace Workflows.Host.Rpc;

/// <summary>
/// The worker process exited, or its stream to the host ended, while an invocation was in flight (or before it could
/// be sent): the invocation's outcome is unknown. The channel starts a new worker; a caller may retry.
/// </summary>
internal sealed class WorkerExitedException : Exception
{
    public WorkerExitedException()
        : this("The worker process exited.")
    {
    }

    public WorkerExitedException(string message)
        : base(message)
    {
    }

    public WorkerExitedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
