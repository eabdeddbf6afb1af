using Spectre.Console;

namespace Workflows.Cli;

/// <summary>What a command runs with: the API client, the consoles and the output format.</summary>
internal sealed class CliContext(DurableApiClient api, IAnsiConsole console, TextWriter stdout, TextWriter stderr, bool json)
{
    public DurableApiClient Api { get; } = api;

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
