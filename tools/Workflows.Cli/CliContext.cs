using Spectre.Console;

namespace Workflows.Cli;

/// <summary>What a command runs with: the backend (HTTP or storage), the storage target in the storage mode, the consoles and the output format.</summary>
internal sealed class CliContext(IDurableBackend? backend, StorageTarget? target, IAnsiConsole console, TextWriter stdout, TextWriter stderr, bool json)
{
    /// <summary>Where the command acts; a storage-only command (delete-task-hub) has none and works on <see cref="Target"/>.</summary>
    public IDurableBackend Backend => backend ?? throw new InvalidOperationException("This command works on the storage target, not through a backend.");

    /// <summary>The task hub in the storage mode; null in the HTTP mode.</summary>
    public StorageTarget? Target { get; } = target;

    /// <summary>Standard output as Spectre sees it: tables, progress.</summary>
    public IAnsiConsole Console { get; } = console;

    /// <summary>Standard output as text: JSON documents and lines scripts read.</summary>
    public TextWriter Out { get; } = stdout;

    public TextWriter Error { get; } = stderr;

    /// <summary>Whether <c>--output json</c> was asked for: the API's JSON, one document, on standard output.</summary>
    public bool Json { get; } = json;

    /// <summary>Whether standard output is a terminal that takes a live display.</summary>
    public bool Interactive => Console.Profile.Capabilities.Interactive && Console.Profile.Out.IsTerminal;
}
