namespace Workflows.Durable.Storage;

/// <summary>
/// The worker no longer holds the lock of a work item (it expired, or another worker took the partition).
/// Nothing of the work item was applied; the messages will be delivered again.
/// </summary>
public sealed class WorkItemLockLostException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WorkItemLockLostException()
        : base("The work item's lock was lost; nothing was committed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public WorkItemLockLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public WorkItemLockLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
