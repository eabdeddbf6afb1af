using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace Workflows.Host.Tests.Rpc;

/// <summary>A logger factory that keeps every entry with its category and the scope values around it.</summary>
public sealed class ScopedLogs : ILoggerFactory
{
    private readonly AsyncLocal<ImmutableStack<object>> _scopes = new();
    private readonly List<Entry> _entries = [];
    private readonly List<(Func<Entry, bool> Match, TaskCompletionSource<Entry> Found)> _waiters = [];

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

    /// <summary>The first entry (logged already or to come) that <paramref name="match"/> accepts.</summary>
    public Task<Entry> WaitForAsync(Func<Entry, bool> match, CancellationToken cancellationToken)
    {
        lock (_entries)
        {
            if (_entries.FirstOrDefault(match) is { } entry)
            {
                return Task.FromResult(entry);
            }

            var found = new TaskCompletionSource<Entry>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, found));
            return found.Task.WaitAsync(cancellationToken);
        }
    }

    private void Add(Entry entry)
    {
        lock (_entries)
        {
            _entries.Add(entry);
            foreach (var waiter in _waiters.Where(waiter => waiter.Match(entry)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Found.TrySetResult(entry);
            }
        }
    }

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

            owner.Add(new Entry(category, logLevel, formatter(state, exception), scope));
        }
    }

    private sealed class Pop(Action pop) : IDisposable
    {
        public void Dispose() => pop();
    }
}
