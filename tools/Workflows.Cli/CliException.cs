namespace Workflows.Cli;

/// <summary>A failure the command reports as one line on standard error, with its exit code.</summary>
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
