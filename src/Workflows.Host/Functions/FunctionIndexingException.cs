namespace Workflows.Host.Functions;

/// <summary>
/// A function of the app cannot be indexed at start-up (bad route, bad schedule, duplicate name, unsupported
/// parameter): the message names the function and the problem.
/// </summary>
public sealed class FunctionIndexingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FunctionIndexingException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public FunctionIndexingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public FunctionIndexingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
