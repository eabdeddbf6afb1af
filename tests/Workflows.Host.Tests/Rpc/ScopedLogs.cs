using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace Workflows.Host.Tests.Rpc;

/// <summary>A logger factory that keeps every entry with its category and the scope values around it.</summary>
public sealed class ScopedLogs : ILoggerFactory
{
    private readonly AsyncLocal<ImmutableStack<object>> _scopes = new();
    private readonly List<Entry> _entries = [];

    public IReadOnlyList<Entry> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    /// <summary>One entry: its category, level, message, and the key/value pairs of the scopes it was logged in.</summary>
    public sealed record Entry(string Category, LogLevel Level, string Message, IReadOnlyDictionary<string, object?> Scope);

    private sealed class Logger(ScopedLogs owner, string category) : ILogger
    {
        public IDisposable BeginScope<TState>(TState state)
            where TState : notnull
        {
            var outer = owner._scopes.Value ?? [];
            owner._scopes.Value = outer.Push(state);
            return new Pop(() => owner._scopes.Value = outer);
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scope = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var values in (owner._scopes.Value ?? []).Reverse().OfType<IEnumerable<KeyValuePair<string, object?>>>())
            {
                foreach (var (key, value) in values)
                {
                    scope[key] = value;
                }
            }

            lock (owner._entries)
            {
                owner._entries.Add(new Entry(category, logLevel, formatter(state, exception), scope));
            }
        }
    }

    private sealed class Pop(Action pop) : IDisposable
    {
        public void Dispose() => pop();
    }
}
