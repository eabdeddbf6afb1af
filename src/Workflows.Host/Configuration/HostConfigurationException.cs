namespace Workflows.Host.Configuration;

/// <summary>A setting of host.json, local.settings.json or the environment is invalid; the message names the key.</summary>
public sealed class HostConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HostConfigurationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public HostConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public HostConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
