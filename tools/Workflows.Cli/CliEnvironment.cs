namespace Workflows.Cli;

/// <summary>
/// What the CLI reads from its process: environment variables and the current directory (where host.json and
/// local.settings.json are looked for). Tests pass their own, so parallel runs share no process-wide state.
/// </summary>
internal sealed class CliEnvironment(Func<string, string?> variable, string directory)
{
    /// <summary>The process's environment variables and current directory.</summary>
    public static CliEnvironment Process { get; } = new(Environment.GetEnvironmentVariable, ".");

    /// <summary>The folder of host.json and local.settings.json.</summary>
    public string Directory { get; } = directory;

    /// <summary>The value of an environment variable; null when it is not set or empty.</summary>
    public string? Variable(string name) => variable(name) is { Length: > 0 } value ? value : null;
}
