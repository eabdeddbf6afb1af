using System.Text;

namespace Workflows.Durable;

/// <summary>
/// What went wrong in an activity, sub-orchestration or orchestrator: the exception type, message and stack,
/// with the inner failure chain. Stored in history and surfaced to orchestrators as <see cref="TaskFailedException"/>.
/// </summary>
/// <param name="ErrorType">Full name of the exception type.</param>
/// <param name="ErrorMessage">The exception message.</param>
/// <param name="StackTrace">The stack trace where one was captured.</param>
/// <param name="InnerFailure">The inner exception's details, if any.</param>
/// <param name="IsNonRetriable">True when retry policies must not retry this failure.</param>
public sealed record FailureDetails(
    string ErrorType,
    string ErrorMessage,
    string? StackTrace = null,
    FailureDetails? InnerFailure = null,
    bool IsNonRetriable = false)
{
    /// <summary>Builds failure details from an exception, including its inner exceptions.</summary>
    public static FailureDetails FromException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is TaskFailedException taskFailed)
        {
            // Surfacing a sub-task's failure keeps its original type and stack, like durabletask-dotnet.
            return new FailureDetails(
                taskFailed.GetType().FullName!,
                taskFailed.Message,
                taskFailed.StackTrace,
                taskFailed.FailureDetails,
                false);
        }

        return new FailureDetails(
            exception.GetType().FullName ?? exception.GetType().Name,
            exception.Message,
            exception.StackTrace,
            exception.InnerException is null ? null : FromException(exception.InnerException),
            exception is NonDeterministicOrchestrationException);
    }

    /// <summary>
    /// True when this failure was caused by an exception of type <typeparamref name="T"/> or a type derived from it.
    /// </summary>
    public bool IsCausedBy<T>()
        where T : Exception
    {
        if (string.Equals(ErrorType, typeof(T).FullName, StringComparison.Ordinal))
        {
            return true;
        }

        var type = ResolveType(ErrorType);
        return type is not null && typeof(T).IsAssignableFrom(type);
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var builder = new StringBuilder();
        builder.Append(ErrorType).Append(": ").Append(ErrorMessage);
        if (InnerFailure is not null)
        {
            builder.Append(" ---> ").Append(InnerFailure.ToString());
        }

        return builder.ToString();
    }

    private static Type? ResolveType(string fullName)
    {
        var type = Type.GetType(fullName, throwOnError: false);
        if (type is not null)
        {
            return type;
        }

        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            type = assembly.GetType(fullName, throwOnError: false);
            if (type is not null)
            {
                return type;
            }
        }

        return null;
    }
}
