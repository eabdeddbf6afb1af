namespace Workflows.ML.Data;

/// <summary>A path from a request breaks a rule of the data root; the message names the field, the path and the rule.</summary>
public sealed class DataPathException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="path"/> given as <paramref name="field"/>, which breaks <paramref name="rule"/>.</summary>
    public DataPathException(string field, string path, string rule)
        : base($"{field} '{path}' is refused: {rule}.")
    {
        Field = field;
    }

    /// <summary>The input field that held the path.</summary>
    public string Field { get; } = string.Empty;

    /// <summary>Creates the exception.</summary>
    public DataPathException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public DataPathException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public DataPathException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
