using Microsoft.Extensions.Logging;

namespace Workflows.Durable;

/// <summary>
/// The orchestrator's window on the durable runtime. Every call here is recorded in history and replayed, so
/// orchestrator code that only uses this context (plus pure computation) is deterministic.
/// </summary>
public abstract class TaskOrchestrationContext
{
    /// <summary>Orchestrator name.</summary>
    public abstract string Name { get; }

    /// <summary>Instance id.</summary>
    public abstract string InstanceId { get; }

    /// <summary>The parent instance when this is a sub-orchestration, else null.</summary>
    public abstract ParentInstanceInfo? Parent { get; }

    /// <summary>True while the code runs over events already in history (log and side-effect guards).</summary>
    public abstract bool IsReplaying { get; }

    /// <summary>Deterministic "now": the start time of the current episode, identical on replay.</summary>
    public abstract DateTime CurrentUtcDateTime { get; }

    /// <summary>The orchestration's input.</summary>
    public abstract T? GetInput<T>();

    /// <summary>Schedules activity <paramref name="name"/> and returns its result.</summary>
    /// <exception cref="TaskFailedException">The activity failed (after any retries).</exception>
    public abstract Task<TResult> CallActivityAsync<TResult>(string name, object? input = null, TaskOptions? options = null);

    /// <summary>Schedules activity <paramref name="name"/> whose result is not needed.</summary>
    public Task CallActivityAsync(string name, object? input = null, TaskOptions? options = null) =>
        CallActivityAsync<object?>(name, input, options);

    /// <summary>Starts sub-orchestration <paramref name="orchestratorName"/> and returns its output.</summary>
    /// <exception cref="TaskFailedException">The sub-orchestration failed (after any retries).</exception>
    public abstract Task<TResult> CallSubOrchestratorAsync<TResult>(string orchestratorName, object? input = null, TaskOptions? options = null);

    /// <summary>Starts a sub-orchestration whose output is not needed.</summary>
    public Task CallSubOrchestratorAsync(string orchestratorName, object? input = null, TaskOptions? options = null) =>
        CallSubOrchestratorAsync<object?>(orchestratorName, input, options);

    /// <summary>
    /// A durable timer that completes at <paramref name="fireAt"/> (UTC); cancelling the token cancels the returned task.
    /// Cancel with <see cref="CancellationTokenSource.Cancel()"/> from orchestrator code, never CancelAsync: callbacks
    /// must run on the orchestrator's thread.
    /// </summary>
    public abstract Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken);

    /// <summary>A durable timer that completes after <paramref name="delay"/>.</summary>
    public Task CreateTimer(TimeSpan delay, CancellationToken cancellationToken) =>
        CreateTimer(CurrentUtcDateTime.Add(delay), cancellationToken);

    /// <summary>Waits for external event <paramref name="eventName"/> (case-insensitive); events that arrived earlier are buffered.</summary>
    public abstract Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits for external event <paramref name="eventName"/> for at most <paramref name="timeout"/> (a durable timer).
    /// </summary>
    /// <exception cref="TaskCanceledException">The timeout expired first.</exception>
    public async Task<T> WaitForExternalEvent<T>(string eventName, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource();
        var timer = CreateTimer(timeout, cancellation.Token);
        var eventTask = WaitForExternalEvent<T>(eventName, cancellation.Token);
        var winner = await Task.WhenAny(eventTask, timer);
        // Cancel synchronously: orchestrator state may only change on the orchestrator's own thread
        // (CancelAsync would run the callbacks on the thread pool).
        cancellation.Cancel();
        if (winner == eventTask)
        {
            return await eventTask;
        }

        throw new TaskCanceledException($"External event '{eventName}' did not arrive within {timeout}.");
    }

    /// <summary>Sends event <paramref name="eventName"/> to another instance (fire and forget, durable).</summary>
    public abstract void SendEvent(string instanceId, string eventName, object? payload);

    /// <summary>Sets the custom status clients see (serialized with the data converter).</summary>
    public abstract void SetCustomStatus(object? customStatus);

    /// <summary>
    /// Restarts this instance with <paramref name="newInput"/> and an empty history once the orchestrator returns
    /// (eternal orchestrations). Unconsumed external events are carried over when <paramref name="preserveUnprocessedEvents"/> is set.
    /// </summary>
    public abstract void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true);

    /// <summary>A deterministic, name-based (version 5) GUID: the same on every replay.</summary>
    public abstract Guid NewGuid();

    /// <summary>A logger that writes only when the orchestrator is not replaying.</summary>
    public abstract ILogger CreateReplaySafeLogger(string categoryName);

    /// <summary>A replay-safe logger named after <typeparamref name="T"/>.</summary>
    public ILogger CreateReplaySafeLogger<T>() => CreateReplaySafeLogger(typeof(T).FullName ?? typeof(T).Name);
}
