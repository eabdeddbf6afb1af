using Microsoft.Extensions.Logging;

namespace Workflows.ML.Tests;

/// <summary>A logger that keeps every entry (level, event id, exception, message) for the test to look at.</summary>
internal sealed class RecordingLogger : ILogger
{
    private readonly List<(LogLevel Level, EventId Event, Exception? Exception, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, EventId Event, Exception? Exception, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((logLevel, eventId, exception, formatter(state, exception)));
        }
    }
}
