namespace Workflows.DurableTask.Hosting;

/// <summary>The failure of an instance or task whose orchestrator or activity name no worker has registered.</summary>
public sealed class TaskNotRegisteredException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskNotRegisteredException()
    {
    }

    /// <summary>Creates the exception with its message.</summary>
    public TaskNotRegisteredException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    public TaskNotRegisteredException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
