namespace Workflows.ML.Data;

/// <summary>A dataset is missing, empty, corrupt or does not have the columns asked for; the message says which.</summary>
public sealed class DatasetException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DatasetException()
    {
    }

    /// <summary>Creates the exception with a readable reason.</summary>
    public DatasetException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a readable reason and the error that caused it.</summary>
    public DatasetException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
