namespace Workflows.Serving.Protocol;

/// <summary>A request whose input the model cannot take (answered 400 naming the expected input).</summary>
public sealed class InputException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InputException()
    {
    }

    /// <summary>Creates the exception with a message naming the problem.</summary>
    public InputException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the failure beneath it.</summary>
    public InputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
