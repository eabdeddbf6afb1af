using System.Text;

namespace Workflows.Durable;

/// <summary>
/// What went wrong in an activity, sub-orchestration or orchestrator: the exception type, message and stack,
/// with the inner failure chain, as the task hub stores it in history and in the instance row.
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
}
