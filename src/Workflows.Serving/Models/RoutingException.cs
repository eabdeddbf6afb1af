namespace Workflows.Serving.Models;

/// <summary>A routing change that cannot be made (unknown or unloaded version, weight out of range): answered 409 or 400.</summary>
public sealed class RoutingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RoutingException()
    {
    }

    /// <summary>Creates the exception with a message naming the problem.</summary>
    public RoutingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure beneath it.</summary>
    public RoutingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
