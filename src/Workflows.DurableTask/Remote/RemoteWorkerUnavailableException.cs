namespace Workflows.DurableTask.Remote;

/// <summary>
/// The worker that runs the code could not take or finish the work (it exited, or is restarting, or the host stops):
/// the work item is abandoned, and the backend delivers it again.
/// </summary>
public sealed class RemoteWorkerUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RemoteWorkerUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public RemoteWorkerUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public RemoteWorkerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
