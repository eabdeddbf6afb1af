using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Workflows.Durable.History;
using Workflows.Durable.Serialization;

namespace Workflows.Durable.Worker;

/// <summary>
/// Runs one orchestration execution over its history. Events are applied in history order; after each event
/// the orchestrator's continuations are drained, so the code reacts to event N before event N+1 is applied, on
/// replay exactly as live. Durable calls get sequence ids and are matched against the history's
/// TaskScheduled/TimerCreated/SubOrchestrationInstanceCreated/EventSent records; a mismatch is a
/// <see cref="NonDeterministicOrchestrationException"/>. An executor is kept alive between episodes by the
/// worker's cache (extended sessions), so new events are applied without replaying the whole history.
/// </summary>
internal sealed class OrchestrationExecutor
{
    private readonly ITaskOrchestrator _orchestrator;
    private readonly DataConverter _converter;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly OrchestrationTaskScheduler _scheduler = new();
    private readonly Dictionary<int, OrchestratorAction> _pendingActions = [];
    private readonly Dictionary<int, IOpenTask> _openTasks = [];
    private readonly Dictionary<int, string> _openSubOrchestrations = [];
    private readonly Dictionary<string, LinkedList<IEventWaiter>> _waiters = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<EventRaised> _unconsumedEvents = [];
    private readonly List<HistoryEvent> _heldWhileSuspended = [];
    private readonly List<HistoryEvent> _ignoredAfterCompletion = [];
    private readonly HashSet<HistoryEvent> _duplicateResults = new(ReferenceEqualityComparer.Instance);
    private readonly ContextImpl _context;
    private Task<object?>? _runTask;
    private int _nextSequence;
    private int _guidCounter;
    private bool _isReplaying;
    private DateTime _currentUtcDateTime;
    private OrchestrationCompletion? _completion;
    private bool _completionReported;
    private (string? Input, bool Preserve)? _continueAsNew;

    public OrchestrationExecutor(string name, string instanceId, ITaskOrchestrator orchestrator, DataConverter converter, ILoggerFactory loggerFactory)
    {
        Name = name;
        InstanceId = instanceId;
        _orchestrator = orchestrator;
        _converter = converter;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Workflows.Durable.Orchestration");
        _context = new ContextImpl(this);
    }

    public string Name { get; }

    public string InstanceId { get; }

    /// <summary>The ExecutionStarted event, once applied.</summary>
    public ExecutionStarted? Started { get; private set; }

    public bool IsSuspended { get; private set; }

    public bool IsCompleted => _completion is not null;

    public string? CustomStatus { get; private set; }

    /// <summary>How many history events this executor applied (replayed or new): the cost measure of replay.</summary>
    public long EventsApplied { get; private set; }

    /// <summary>
    /// Events of the latest episode that arrived after the orchestration had already finished in that episode
    /// (ContinueAsNew passes them on to the next execution).
    /// </summary>
    public IReadOnlyList<HistoryEvent> IgnoredAfterCompletion => _ignoredAfterCompletion;

    /// <summary>
    /// True for a result of the latest episode that completed nothing (a second delivery of an activity or
    /// sub-orchestration result that is already in history): it is not recorded, so history never holds two results for one call.
    /// </summary>
    public bool IsDuplicateResult(HistoryEvent historyEvent) => _duplicateResults.Contains(historyEvent);

    /// <summary>Sub-orchestrations started and not yet finished (for recursive terminate).</summary>
    public IReadOnlyCollection<string> OpenSubOrchestrationInstanceIds => _openSubOrchestrations.Values;

    /// <summary>Replays committed history: orchestrator code sees <c>IsReplaying == true</c>.</summary>
    public void Replay(IReadOnlyList<HistoryEvent> history)
    {
        _isReplaying = true;
        Apply(history);
    }

    /// <summary>Applies the events of a new episode and returns the durable calls and completion it produced.</summary>
    public EpisodeResult Execute(IReadOnlyList<HistoryEvent> newEvents)
    {
        _isReplaying = false;
        _ignoredAfterCompletion.Clear();
        _duplicateResults.Clear();
        Apply(newEvents);
        FailIfNothingDurableIsPending();

        OrchestratorAction[] actions;
        if (_pendingActions.Count == 0)
        {
            actions = [];
        }
        else
        {
            actions = new OrchestratorAction[_pendingActions.Count];
            _pendingActions.Values.CopyTo(actions, 0);
            Array.Sort(actions, static (a, b) => a.Id.CompareTo(b.Id));
            _pendingActions.Clear();
        }

        OrchestrationCompletion? completion = null;
        if (_completion is not null && !_completionReported)
        {
            completion = _completion;
            _completionReported = true;
        }

        return new EpisodeResult(actions, completion);
    }

    private void Apply(IReadOnlyList<HistoryEvent> events)
    {
        _scheduler.Enter();
        try
        {
            if (_scheduler.ForeignContinuationQueued && _completion is null)
            {
                FailNonDurableAwait();
            }

            for (var i = 0; i < events.Count; i++)
            {
                EventsApplied++;
                ApplyOne(events[i]);
            }
        }
        catch (NonDeterministicOrchestrationException exception)
        {
            // Divergence outranks an outcome the code reached on the way (e.g. it now returns earlier than history shows).
            if (!_completionReported)
            {
                _completion = null;
            }

            Fail(exception);
        }
        finally
        {
            _scheduler.Exit();
        }
    }

    private void ApplyOne(HistoryEvent historyEvent)
    {
        switch (historyEvent)
        {
            case OrchestratorStarted started:
                _currentUtcDateTime = started.Timestamp;
                break;
            case ExecutionStarted started:
                Start(started);
                break;
            case TaskScheduled scheduled:
                Match<ScheduleTaskAction>(scheduled.EventId, $"TaskScheduled '{scheduled.Name}'", a => NamesEqual(a.Name, scheduled.Name));
                break;
            case TimerCreated created:
                Match<CreateTimerAction>(created.EventId, "TimerCreated", static _ => true);
                break;
            case SubOrchestrationInstanceCreated created:
                Match<CreateSubOrchestrationAction>(created.EventId, $"SubOrchestrationInstanceCreated '{created.Name}'", a => NamesEqual(a.Name, created.Name));
                break;
            case EventSent sent:
                Match<SendEventAction>(sent.EventId, $"EventSent '{sent.Name}'", a => NamesEqual(a.Name, sent.Name));
                break;
            case ExecutionSuspended or ExecutionResumed when _completion is not null:
                if (!_isReplaying)
                {
                    _ignoredAfterCompletion.Add(historyEvent);
                }

                break;
            case ExecutionSuspended:
                IsSuspended = true;
                break;
            case ExecutionResumed:
                IsSuspended = false;
                ReleaseHeldEvents();
                break;
            case ExecutionRewound { NextEventId: { } floor }:
                // Calls made after a rewind never reuse ids of calls from before it, whose results may still arrive.
                _nextSequence = Math.Max(_nextSequence, floor);
                break;
            case ExecutionTerminated terminated:
                if (_completion is null)
                {
                    _completion = new OrchestrationCompletion(OrchestrationRuntimeStatus.Terminated, _converter.Serialize(terminated.Reason), null);
                }
                else if (!_isReplaying)
                {
                    _ignoredAfterCompletion.Add(terminated);
                }

                break;
            case TaskCompleted or TaskFailed or TimerFired or SubOrchestrationInstanceCompleted or SubOrchestrationInstanceFailed or EventRaised:
                if (IsSuspended && _completion is null)
                {
                    _heldWhileSuspended.Add(historyEvent);
                }
                else
                {
                    Deliver(historyEvent);
                }

                break;
            default:
                // OrchestratorCompleted, ExecutionCompleted and ExecutionRewound carry no input for the code.
                break;
        }
    }

    /// <summary>
    /// Code that is still running but awaits nothing durable can never be resumed by an event: it awaited a
    /// non-durable task. Fail now rather than leave the instance Running forever.
    /// </summary>
    private void FailIfNothingDurableIsPending()
    {
        if (_completion is not null || _runTask is not { IsCompleted: false } || _openTasks.Count > 0)
        {
            return;
        }

        foreach (var waiters in _waiters.Values)
        {
            if (waiters.Count > 0)
            {
                return;
            }
        }

        FailNonDurableAwait();
    }

    private void FailNonDurableAwait() =>
        Fail(new InvalidOperationException(
            $"Orchestrator '{Name}' awaited a task that is not durable (Task.Delay, Task.Run, I/O, ConfigureAwait(false)) "
            + "or was cancelled from another thread. Orchestrator code may only await tasks returned by its "
            + "TaskOrchestrationContext and must cancel with CancellationTokenSource.Cancel(); move other work into an activity."));

    private void ReleaseHeldEvents()
    {
        if (_heldWhileSuspended.Count == 0)
        {
            return;
        }

        var held = _heldWhileSuspended.ToArray();
        _heldWhileSuspended.Clear();
        foreach (var historyEvent in held)
        {
            ApplyOne(historyEvent);
        }
    }

    private void Start(ExecutionStarted started)
    {
        if (Started is not null)
        {
            return;
        }

        Started = started;
        object? input;
        try
        {
            input = _converter.Deserialize(started.Input, _orchestrator.InputType);
        }
        catch (Exception exception) when (exception is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException)
        {
            Fail(new ArgumentException($"The input of orchestration '{Name}' could not be read as {_orchestrator.InputType.Name}: {exception.Message}", exception));
            return;
        }

        _ = Task.Factory.StartNew(
            () =>
            {
                try
                {
                    _runTask = _orchestrator.RunAsync(_context, input);
                }
                catch (Exception exception)
                {
                    _runTask = Task.FromException<object?>(exception);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.DenyChildAttach,
            _scheduler);
        DrainAndCheckCompletion();
    }

    private void Deliver(HistoryEvent historyEvent)
    {
        if (_completion is not null)
        {
            if (!_isReplaying)
            {
                _ignoredAfterCompletion.Add(historyEvent);
            }

            return;
        }

        switch (historyEvent)
        {
            case TaskCompleted completed:
                CompleteOpenTask(completed.TaskScheduledId, OpenTaskKind.Activity, historyEvent, task => task.Complete(completed.Result));
                break;
            case TaskFailed failed:
                CompleteOpenTask(failed.TaskScheduledId, OpenTaskKind.Activity, historyEvent, task => task.Fail(failed.FailureDetails));
                break;
            case SubOrchestrationInstanceCompleted completed:
                if (CompleteOpenTask(completed.TaskScheduledId, OpenTaskKind.SubOrchestration, historyEvent, task => task.Complete(completed.Result)))
                {
                    _openSubOrchestrations.Remove(completed.TaskScheduledId);
                }

                break;
            case SubOrchestrationInstanceFailed failed:
                if (CompleteOpenTask(failed.TaskScheduledId, OpenTaskKind.SubOrchestration, historyEvent, task => task.Fail(failed.FailureDetails)))
                {
                    _openSubOrchestrations.Remove(failed.TaskScheduledId);
                }

                break;
            case TimerFired fired:
                CompleteOpenTask(fired.TimerId, OpenTaskKind.Timer, historyEvent, static task => task.Complete(null));
                break;
            case EventRaised raised:
                DeliverExternalEvent(raised);
                break;
        }

        DrainAndCheckCompletion();
    }

    private bool CompleteOpenTask(int id, OpenTaskKind kind, HistoryEvent historyEvent, Action<IOpenTask> complete)
    {
        // The kind must match too: a stale result from before a rewind must not complete a different kind of call.
        if (_openTasks.TryGetValue(id, out var task) && task.Kind == kind)
        {
            _openTasks.Remove(id);
            complete(task);
            return true;
        }

        if (!_isReplaying)
        {
            // A redelivered activity result, or a timer whose wait was cancelled: nothing awaits it any more.
            WorkerLog.IgnoredEvent(_logger, InstanceId, historyEvent.GetType().Name, id);
            if (historyEvent is TaskCompleted or TaskFailed or SubOrchestrationInstanceCompleted or SubOrchestrationInstanceFailed)
            {
                _duplicateResults.Add(historyEvent);
            }
        }

        return false;
    }

    private void DeliverExternalEvent(EventRaised raised)
    {
        if (_waiters.TryGetValue(raised.Name, out var waiters) && waiters.First is { } first)
        {
            waiters.RemoveFirst();
            first.Value.Complete(raised.Input);
        }
        else
        {
            _unconsumedEvents.Add(raised);
        }
    }

    private void DrainAndCheckCompletion()
    {
        _scheduler.Drain();
        if (_completion is not null || _runTask is not { IsCompleted: true } run)
        {
            return;
        }

        if (run.IsFaulted)
        {
            var exception = run.Exception!.InnerExceptions.Count == 1 ? run.Exception.InnerException! : run.Exception;
            Fail(exception);
        }
        else if (run.IsCanceled)
        {
            Fail(new TaskCanceledException($"Orchestrator '{Name}' was cancelled: an awaited task was cancelled and not handled."));
        }
        else if (_continueAsNew is { } next)
        {
            _completion = new OrchestrationCompletion(
                OrchestrationRuntimeStatus.ContinuedAsNew,
                null,
                null,
                next.Input,
                next.Preserve ? _unconsumedEvents.ToArray() : [],
                next.Preserve);
        }
        else
        {
            _completion = new OrchestrationCompletion(OrchestrationRuntimeStatus.Completed, _converter.Serialize(run.Result), null);
        }
    }

    private void Fail(Exception exception)
    {
        if (_completion is not null)
        {
            return;
        }

        if (!_isReplaying || exception is NonDeterministicOrchestrationException)
        {
            WorkerLog.OrchestratorFailed(_logger, InstanceId, Name, exception.Message);
        }

        _completion = new OrchestrationCompletion(OrchestrationRuntimeStatus.Failed, null, FailureDetails.FromException(exception));
    }

    private void Match<TAction>(int id, string expected, Func<TAction, bool> isSame)
        where TAction : OrchestratorAction
    {
        if (!_pendingActions.Remove(id, out var action))
        {
            throw new NonDeterministicOrchestrationException(id, expected, "no durable call with that id (the code made fewer or different durable calls)");
        }

        if (action is not TAction typed || !isSame(typed))
        {
            throw new NonDeterministicOrchestrationException(id, expected, action.Describe());
        }
    }

    private static bool NamesEqual(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private int NextId() => _nextSequence++;

    /// <summary>
    /// Runs a cancellation callback inline when orchestrator code cancelled on its own thread; from any other
    /// thread it is queued to the orchestrator's scheduler, which flags it so the next episode fails the instance
    /// instead of racing the executor's state.
    /// </summary>
    private void OnOrchestratorThread(Action action)
    {
        if (_scheduler.IsOwnerThread)
        {
            action();
        }
        else
        {
            _ = Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler);
        }
    }

    private enum OpenTaskKind
    {
        Activity,
        SubOrchestration,
        Timer,
    }

    private interface IOpenTask
    {
        OpenTaskKind Kind { get; }

        void Complete(string? result);

        void Fail(FailureDetails failure);
    }

    private interface IEventWaiter
    {
        void Complete(string? input);
    }

    private sealed class OpenTask<T>(string name, int id, OpenTaskKind kind, DataConverter converter) : IOpenTask
    {
        private readonly TaskCompletionSource<T> _completion = new();

        public OpenTaskKind Kind => kind;

        public Task<T> Task => _completion.Task;

        public void Complete(string? result)
        {
            try
            {
                _completion.SetResult(converter.Deserialize<T>(result)!);
            }
            catch (Exception exception)
            {
                // Whatever the converter throws becomes the awaited task's exception, never an escape from the executor.
                _completion.SetException(new InvalidOperationException($"The result of '{name}' (#{id}) could not be read as {typeof(T).Name}: {exception.Message}", exception));
            }
        }

        public void Fail(FailureDetails failure) => _completion.SetException(new TaskFailedException(name, id, failure));
    }

    private sealed class OpenTimer : IOpenTask
    {
        private readonly TaskCompletionSource _completion = new();

        public OpenTaskKind Kind => OpenTaskKind.Timer;

        public Task Task => _completion.Task;

        public CancellationTokenRegistration Registration { get; set; }

        public void Complete(string? result)
        {
            Registration.Dispose();
            _completion.TrySetResult();
        }

        public void Fail(FailureDetails failure) => _completion.TrySetException(new TaskFailedException("timer", -1, failure));

        public void Cancel() => _completion.TrySetCanceled();
    }

    private sealed class EventWaiter<T>(string name, DataConverter converter) : IEventWaiter
    {
        private readonly TaskCompletionSource<T> _completion = new();

        public Task<T> Task => _completion.Task;

        public LinkedListNode<IEventWaiter>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }

        public void Complete(string? input)
        {
            Registration.Dispose();
            try
            {
                _completion.TrySetResult(converter.Deserialize<T>(input)!);
            }
            catch (Exception exception)
            {
                _completion.TrySetException(new InvalidOperationException($"The payload of event '{name}' could not be read as {typeof(T).Name}: {exception.Message}", exception));
            }
        }

        public void Cancel() => _completion.TrySetCanceled();
    }

    private sealed class ContextImpl(OrchestrationExecutor executor) : TaskOrchestrationContext
    {
        public override string Name => executor.Name;

        public override string InstanceId => executor.InstanceId;

        public override ParentInstanceInfo? Parent => executor.Started?.ParentInstance;

        public override bool IsReplaying => executor._isReplaying;

        public override DateTime CurrentUtcDateTime => executor._currentUtcDateTime;

        public override T? GetInput<T>()
            where T : default => executor._converter.Deserialize<T>(executor.Started?.Input);

        public override Task<TResult> CallActivityAsync<TResult>(string name, object? input = null, TaskOptions? options = null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
            var serialized = executor._converter.Serialize(input);
            return options?.Retry is { } retry
                ? WithRetry(() => ScheduleActivity<TResult>(name, serialized), retry)
                : ScheduleActivity<TResult>(name, serialized);
        }

        public override Task<TResult> CallSubOrchestratorAsync<TResult>(string orchestratorName, object? input = null, TaskOptions? options = null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(orchestratorName);
            var serialized = executor._converter.Serialize(input);
            var instanceId = (options as SubOrchestrationOptions)?.InstanceId;
            return options?.Retry is { } retry
                ? WithRetry(() => StartSubOrchestration<TResult>(orchestratorName, instanceId, serialized), retry)
                : StartSubOrchestration<TResult>(orchestratorName, instanceId, serialized);
        }

        public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
        {
            var id = executor.NextId();
            var fireAtUtc = fireAt.Kind == DateTimeKind.Local ? fireAt.ToUniversalTime() : DateTime.SpecifyKind(fireAt, DateTimeKind.Utc);
            executor._pendingActions[id] = new CreateTimerAction(id, fireAtUtc);
            var timer = new OpenTimer();
            executor._openTasks[id] = timer;
            if (cancellationToken.CanBeCanceled)
            {
                timer.Registration = cancellationToken.Register(() => executor.OnOrchestratorThread(() =>
                {
                    executor._openTasks.Remove(id);
                    timer.Cancel();
                }));
            }

            return timer.Task;
        }

        public override Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
            var buffered = executor._unconsumedEvents.FindIndex(e => NamesEqual(e.Name, eventName));
            var waiter = new EventWaiter<T>(eventName, executor._converter);
            if (buffered >= 0)
            {
                var raised = executor._unconsumedEvents[buffered];
                executor._unconsumedEvents.RemoveAt(buffered);
                waiter.Complete(raised.Input);
                return waiter.Task;
            }

            if (!executor._waiters.TryGetValue(eventName, out var waiters))
            {
                waiters = new LinkedList<IEventWaiter>();
                executor._waiters[eventName] = waiters;
            }

            waiter.Node = waiters.AddLast(waiter);
            if (cancellationToken.CanBeCanceled)
            {
                waiter.Registration = cancellationToken.Register(() => executor.OnOrchestratorThread(() =>
                {
                    if (waiter.Node.List is not null)
                    {
                        waiters.Remove(waiter.Node);
                    }

                    waiter.Cancel();
                }));
            }

            return waiter.Task;
        }

        public override void SendEvent(string instanceId, string eventName, object? payload)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
            ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
            var id = executor.NextId();
            executor._pendingActions[id] = new SendEventAction(id, instanceId, eventName, executor._converter.Serialize(payload));
        }

        public override void SetCustomStatus(object? customStatus) =>
            executor.CustomStatus = executor._converter.Serialize(customStatus);

        public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) =>
            executor._continueAsNew = (executor._converter.Serialize(newInput), preserveUnprocessedEvents);

        public override Guid NewGuid() =>
            DeterministicGuid.Create($"{InstanceId}_{CurrentUtcDateTime:O}_{executor._guidCounter++}");

        public override ILogger CreateReplaySafeLogger(string categoryName) =>
            new ReplaySafeLogger(this, executor._loggerFactory.CreateLogger(categoryName));

        private Task<TResult> ScheduleActivity<TResult>(string name, string? serializedInput)
        {
            var id = executor.NextId();
            executor._pendingActions[id] = new ScheduleTaskAction(id, name, serializedInput);
            var task = new OpenTask<TResult>(name, id, OpenTaskKind.Activity, executor._converter);
            executor._openTasks[id] = task;
            return task.Task;
        }

        private Task<TResult> StartSubOrchestration<TResult>(string name, string? instanceId, string? serializedInput)
        {
            var id = executor.NextId();
            var childId = instanceId ?? $"{InstanceId}:{id:D4}";
            executor._pendingActions[id] = new CreateSubOrchestrationAction(id, name, childId, serializedInput);
            executor._openSubOrchestrations[id] = childId;
            var task = new OpenTask<TResult>(name, id, OpenTaskKind.SubOrchestration, executor._converter);
            executor._openTasks[id] = task;
            return task.Task;
        }

        private async Task<TResult> WithRetry<TResult>(Func<Task<TResult>> attempt, RetryPolicy policy)
        {
            var firstAttemptAt = CurrentUtcDateTime;
            for (var attemptNumber = 1; ; attemptNumber++)
            {
                ExceptionDispatchInfo failure;
                try
                {
                    return await attempt();
                }
                catch (TaskFailedException exception)
                {
                    if (attemptNumber >= policy.MaxNumberOfAttempts || !policy.ShouldHandle(exception.FailureDetails))
                    {
                        throw;
                    }

                    failure = ExceptionDispatchInfo.Capture(exception);
                }

                var delay = policy.GetDelay(attemptNumber);
                var elapsedAtRetry = CurrentUtcDateTime - firstAttemptAt + delay;
                if (elapsedAtRetry > policy.RetryTimeout)
                {
                    failure.Throw();
                }

                await CreateTimer(CurrentUtcDateTime + delay, CancellationToken.None);
            }
        }
    }

    private sealed class ReplaySafeLogger(TaskOrchestrationContext context, ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => !context.IsReplaying && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!context.IsReplaying)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
