namespace Workflows.Serving.Batching;

/// <summary>The batcher's queue is full: the request is refused at once rather than waiting (answered 503).</summary>
public sealed class BatcherOverloadedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BatcherOverloadedException()
        : base("The model's request queue is full; retry later.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public BatcherOverloadedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure beneath it.</summary>
    public BatcherOverloadedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
