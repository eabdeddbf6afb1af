namespace Workflows.ML.Training;

/// <summary>The training or holdout data cannot be used as given; the message names the chunk, row and column at fault.</summary>
public sealed class TrainingDataException : Exception
{
    /// <summary>Creates the exception with a readable reason.</summary>
    public TrainingDataException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a readable reason and its cause.</summary>
    public TrainingDataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public TrainingDataException()
        : base("The training data cannot be used.")
    {
    }
}
