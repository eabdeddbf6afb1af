namespace Workflows.Functions;

/// <summary>
/// An app setting of the function app is invalid; the message names the setting. Thrown while the app's services
/// are added, it stops the worker process before it serves anything (Program writes the message to standard error
/// and exits with code 1).
/// </summary>
public sealed class AppSettingException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public AppSettingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    public AppSettingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message (prefer one that names the setting).</summary>
    public AppSettingException()
    {
    }
}
