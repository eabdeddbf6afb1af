namespace Workflows.Durable;

/// <summary>
/// Thrown into orchestrator code when an activity or sub-orchestration it awaited failed. The original error
/// (type, message, stack) is in <see cref="FailureDetails"/>.
/// </summary>
public sealed class TaskFailedException : Exception
{
    /// <summary>Creates the exception for a failed task.</summary>
    public TaskFailedException(string taskName, int taskId, FailureDetails failureDetails)
        : base(BuildMessage(taskName, taskId, failureDetails))
    {
        TaskName = taskName;
        TaskId = taskId;
        FailureDetails = failureDetails;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public TaskFailedException()
        : this("unknown", -1, new FailureDetails("System.Exception", "unknown failure"))
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public TaskFailedException(string message)
        : base(message)
    {
        TaskName = "unknown";
        TaskId = -1;
        FailureDetails = new FailureDetails("System.Exception", message);
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public TaskFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
        TaskName = "unknown";
        TaskId = -1;
        FailureDetails = Durable.FailureDetails.FromException(innerException);
    }

    /// <summary>Name of the activity or sub-orchestration that failed.</summary>
    public string TaskName { get; }

    /// <summary>Sequence id of the failed task within the orchestration's history.</summary>
    public int TaskId { get; }

    /// <summary>The failure as recorded in history.</summary>
    public FailureDetails FailureDetails { get; }

    private static string BuildMessage(string taskName, int taskId, FailureDetails failure) =>
        $"Task '{taskName}' (#{taskId}) failed with an unhandled exception: {failure.ErrorType}: {failure.ErrorMessage}";
}
