namespace Workflows.Durable.Storage;

/// <summary>Thrown when a query's continuation token is not one a provider issued (a client's mistake, not a failure).</summary>
public sealed class InvalidContinuationTokenException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public InvalidContinuationTokenException()
        : base("The continuation token is not one this task hub issued.", nameof(OrchestrationQuery.ContinuationToken))
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public InvalidContinuationTokenException(string message)
        : base(message, nameof(OrchestrationQuery.ContinuationToken))
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public InvalidContinuationTokenException(string message, Exception innerException)
        : base(message, nameof(OrchestrationQuery.ContinuationToken), innerException)
    {
    }
}
