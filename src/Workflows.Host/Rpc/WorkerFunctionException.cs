namespace Workflows.Host.Rpc;

/// <summary>
/// A function invoked in the worker failed: the message carries the worker's exception (type and message), for the
/// host's log only; an HTTP caller gets a problem with the error id the log entry has.
/// </summary>
internal sealed class WorkerFunctionException : Exception
{
    public WorkerFunctionException()
        : this("A function failed in the worker.")
    {
    }

    public WorkerFunctionException(string message)
        : base(message)
    {
    }

    public WorkerFunctionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
