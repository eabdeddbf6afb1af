namespace Workflows.Serving.Http;

/// <summary>A request that ends with a given status and message (unknown model or version, a body over the limit, ...).</summary>
public sealed class ServingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ServingException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ServingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure beneath it.</summary>
    public ServingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with the status to answer and the reason counted in the error metric.</summary>
    public ServingException(int status, string reason, string message)
        : base(message)
    {
        Status = status;
        Reason = reason;
    }

    /// <summary>The HTTP status to answer.</summary>
    public int Status { get; } = 500;

    /// <summary>The error metric's reason label.</summary>
    public string Reason { get; } = "failed";
}
