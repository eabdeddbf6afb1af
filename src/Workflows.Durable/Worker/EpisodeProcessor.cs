using Microsoft.Extensions.Logging;
using Workflows.Durable.History;
using Workflows.Durable.Serialization;
using Workflows.Durable.Storage;

namespace Workflows.Durable.Worker;

/// <summary>
/// Turns one orchestration work item into one commit: picks the messages that apply, runs the executor over
/// them (replaying history first when there is no cached executor), and translates the durable calls and the
/// completion into history events and outgoing messages. Pure computation: no I/O, so it is tested directly.
/// </summary>
internal sealed class EpisodeProcessor(DurableTaskRegistry registry, DataConverter converter, ILoggerFactory loggerFactory, TimeProvider timeProvider)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Workflows.Durable.Worker");

    /// <summary>
    /// Processes a work item. <paramref name="cached"/> is a live executor valid for the work item's history
    /// ETag, or null, in which case <paramref name="history"/> must be the committed history.
    /// </summary>
    public EpisodeOutcome Process(OrchestrationWorkItem workItem, OrchestrationExecutor? cached, IReadOnlyList<HistoryEvent>? history)
    {
        var now = timeProvider.GetUtcNow().UtcDateTime;
        var started = cached?.Started;
        ExecutionCompleted? finished = null;
        if (cached is null)
        {
            ArgumentNullException.ThrowIfNull(history);
            (started, finished) = Scan(history);
        }

        if (finished is not null)
        {
            return ProcessFinished(workItem, history!, started!, finished, now);
        }

        var accepted = new List<HistoryEvent>(workItem.Messages.Count + 2) { new OrchestratorStarted(now) };
        var outgoing = new List<OrchestrationMessage>();
        var dropped = 0;
        if (started is null)
        {
            // A new instance, or a new generation after ContinueAsNew: its ExecutionStarted comes first, whatever arrived before it.
            foreach (var message in workItem.Messages)
            {
                if (message.Event is ExecutionStarted executionStarted)
                {
                    started = executionStarted;
                    accepted.Add(executionStarted);
                    break;
                }
            }

            if (started is null)
            {
                WorkerLog.DroppedMessages(_logger, workItem.InstanceId, workItem.Messages.Count);
                return EpisodeOutcome.DropAll(cached);
            }
        }

        foreach (var message in workItem.Messages)
        {
            switch (message.Event)
            {
                case ExecutionStarted executionStarted when ReferenceEquals(executionStarted, started):
                    break;
                case ExecutionStarted duplicate:
                    // A start for an id that is already running: the client path throws a conflict; a sub-orchestration
                    // start reaches here and fails its parent's call instead of hijacking this instance.
                    // A redelivery of the start that created this instance (messages are at-least-once) is only dropped.
                    WorkerLog.RejectedDuplicateStart(_logger, workItem.InstanceId);
                    dropped++;
                    if (duplicate.ParentInstance is { } parent && !IsSameParentCall(parent, started.ParentInstance))
                    {
                        outgoing.Add(new OrchestrationMessage(
                            parent.InstanceId,
                            parent.ExecutionId,
                            new SubOrchestrationInstanceFailed(now, parent.TaskScheduledId, new FailureDetails(
                                typeof(OrchestrationAlreadyExistsException).FullName!,
                                $"Sub-orchestration instance '{workItem.InstanceId}' already exists and is running.",
                                IsNonRetriable: true))));
                    }

                    break;
                case ExecutionRewound:
                    dropped++;
                    break;
                default:
                    if (message.ExecutionId is not null && !string.Equals(message.ExecutionId, started.ExecutionId, StringComparison.Ordinal))
                    {
                        dropped++;
                    }
                    else
                    {
                        accepted.Add(message.Event);
                    }

                    break;
            }
        }

        if (dropped > 0)
        {
            WorkerLog.DroppedMessages(_logger, workItem.InstanceId, dropped);
        }

        var executor = cached;
        long replayed = 0;
        if (executor is null)
        {
            executor = CreateExecutor(started, workItem.InstanceId);
            if (executor is null)
            {
                return FailUnregistered(workItem, started, history ?? [], accepted, outgoing, now);
            }

            executor.Replay(history!);
            replayed = executor.EventsApplied;
        }

        var result = executor.Execute(accepted);
        return Build(workItem.InstanceId, executor, started, prefix: null, accepted, result, outgoing, [], now, cacheHit: cached is not null, replayed);
    }

    private EpisodeOutcome ProcessFinished(
        OrchestrationWorkItem workItem,
        IReadOnlyList<HistoryEvent> history,
        ExecutionStarted started,
        ExecutionCompleted finished,
        DateTime now)
    {
        var rewind = workItem.Messages.Select(m => m.Event).OfType<ExecutionRewound>().FirstOrDefault();
        if (rewind is not null && finished.Status == OrchestrationRuntimeStatus.Failed)
        {
            return Rewind(workItem, history, started, rewind, now);
        }

        var outgoing = new List<OrchestrationMessage>();
        if (rewind is not null && started.ParentInstance is { } parent)
        {
            // The parent was rewound past this child's outcome: report it again (a terminated child stays terminated).
            outgoing.Add(new OrchestrationMessage(parent.InstanceId, parent.ExecutionId, ToParent(workItem.InstanceId, parent, finished.Status, finished.Result, finished.FailureDetails, now)));
        }

        WorkerLog.DroppedMessages(_logger, workItem.InstanceId, workItem.Messages.Count);
        var commit = new OrchestrationCommit { ExecutionId = started.ExecutionId, NewEvents = [], State = null, OrchestrationMessages = outgoing };
        return new EpisodeOutcome(commit, null, false, 0, 0);
    }

    /// <summary>
    /// Rewinds a failed execution: history is cut just before its first failure (or its failing completion),
    /// work that was outstanding at that point is sent again, external events that arrived after it are
    /// re-delivered, and the orchestrator replays the kept history and continues.
    /// </summary>
    private EpisodeOutcome Rewind(OrchestrationWorkItem workItem, IReadOnlyList<HistoryEvent> history, ExecutionStarted started, ExecutionRewound rewind, DateTime now)
    {
        var cut = history.Count;
        for (var i = 0; i < history.Count; i++)
        {
            if (history[i] is TaskFailed or SubOrchestrationInstanceFailed or ExecutionCompleted)
            {
                cut = i;
                break;
            }
        }

        var kept = history.Take(cut).ToList();
        var scheduled = new Dictionary<int, TaskScheduled>();
        var timers = new Dictionary<int, TimerCreated>();
        var children = new Dictionary<int, SubOrchestrationInstanceCreated>();
        foreach (var historyEvent in kept)
        {
            switch (historyEvent)
            {
                case TaskScheduled s: scheduled[s.EventId] = s; break;
                case TaskCompleted c: scheduled.Remove(c.TaskScheduledId); break;
                case TimerCreated t: timers[t.EventId] = t; break;
                case TimerFired f: timers.Remove(f.TimerId); break;
                case SubOrchestrationInstanceCreated s: children[s.EventId] = s; break;
                case SubOrchestrationInstanceCompleted c: children.Remove(c.TaskScheduledId); break;
            }
        }

        var activities = scheduled.Values.Select(s => new ActivityMessage(workItem.InstanceId, started.ExecutionId, s)).ToList();
        var outgoing = new List<OrchestrationMessage>();
        outgoing.AddRange(timers.Values.Select(t => new OrchestrationMessage(workItem.InstanceId, started.ExecutionId, new TimerFired(t.FireAt, t.EventId, t.FireAt), t.FireAt)));
        outgoing.AddRange(children.Values.Select(c => new OrchestrationMessage(c.InstanceId, null, new ExecutionRewound(now, rewind.Reason))));
        outgoing.AddRange(history.Skip(cut).OfType<EventRaised>().Select(e => new OrchestrationMessage(workItem.InstanceId, started.ExecutionId, e)));

        var nextEventId = 0;
        foreach (var historyEvent in history)
        {
            var id = historyEvent switch
            {
                TaskScheduled s => s.EventId,
                TimerCreated t => t.EventId,
                SubOrchestrationInstanceCreated c => c.EventId,
                EventSent e => e.EventId,
                _ => -1,
            };
            nextEventId = Math.Max(nextEventId, id + 1);
        }

        rewind = rewind with { NextEventId = nextEventId };
        var executor = CreateExecutor(started, workItem.InstanceId);
        if (executor is null)
        {
            return FailUnregistered(workItem, started, kept, [new OrchestratorStarted(now), rewind], outgoing, now);
        }

        executor.Replay(kept);
        var replayed = executor.EventsApplied;
        List<HistoryEvent> accepted = [new OrchestratorStarted(now), rewind];
        var result = executor.Execute(accepted);
        return Build(workItem.InstanceId, executor, started, kept, accepted, result, outgoing, activities, now, cacheHit: false, replayed);
    }

    private EpisodeOutcome Build(
        string instanceId,
        OrchestrationExecutor executor,
        ExecutionStarted started,
        List<HistoryEvent>? prefix,
        List<HistoryEvent> accepted,
        EpisodeResult result,
        List<OrchestrationMessage> outgoing,
        List<ActivityMessage> activities,
        DateTime now,
        bool cacheHit,
        long replayed)
    {
        var replaceHistory = prefix is not null;
        var applied = (long)accepted.Count;
        var generations = 0;
        while (true)
        {
            var events = prefix ?? new List<HistoryEvent>(accepted.Count + result.NewActions.Count + 2);
            foreach (var historyEvent in accepted)
            {
                if (!executor.IsDuplicateResult(historyEvent))
                {
                    events.Add(historyEvent);
                }
            }

            AddActions(instanceId, executor, started.ExecutionId, result.NewActions, now, events, outgoing, activities);
            var completion = result.Completion;
            if (completion is { ContinuedAsNew: true } && ++generations <= MaxGenerationsPerEpisode)
            {
                // The next generation replaces the history in this same commit and runs its first episode now, as DTFx
                // does: nothing is sent to the instance itself, so a retried episode leaves no second start behind, and
                // messages that arrive meanwhile meet a history that already holds the next generation's start.
                var next = new ExecutionStarted(now, executor.Name, instanceId, NewExecutionId(), completion.NewInput, started.ParentInstance);
                accepted = [new OrchestratorStarted(now), next, .. completion.CarryoverEvents ?? []];
                foreach (var late in executor.IgnoredAfterCompletion)
                {
                    // Messages of this batch that came after the orchestrator returned belong to the next execution:
                    // control operations always, external events when unprocessed events are preserved.
                    if (late is ExecutionTerminated or ExecutionSuspended or ExecutionResumed
                        || (late is EventRaised && completion.PreserveUnprocessedEvents))
                    {
                        accepted.Add(late);
                    }
                }

                executor = CreateExecutor(next, instanceId)
                    ?? throw new InvalidOperationException($"Orchestrator '{next.Name}' is no longer registered.");
                started = next;
                prefix = null;
                replaceHistory = true;
                cacheHit = false;
                applied += accepted.Count;
                result = executor.Execute(accepted);
                continue;
            }

            return Complete(instanceId, executor, started, events, replaceHistory, completion, outgoing, activities, now, cacheHit, replayed, applied);
        }
    }

    private static void AddActions(
        string instanceId,
        OrchestrationExecutor executor,
        string executionId,
        IReadOnlyList<OrchestratorAction> actions,
        DateTime now,
        List<HistoryEvent> events,
        List<OrchestrationMessage> outgoing,
        List<ActivityMessage> activities)
    {
        foreach (var action in actions)
        {
            var historyEvent = action.ToHistoryEvent(now);
            events.Add(historyEvent);
            switch (action)
            {
                case ScheduleTaskAction:
                    activities.Add(new ActivityMessage(instanceId, executionId, (TaskScheduled)historyEvent));
                    break;
                case CreateTimerAction timer:
                    outgoing.Add(new OrchestrationMessage(instanceId, executionId, new TimerFired(timer.FireAt, timer.Id, timer.FireAt), timer.FireAt));
                    break;
                case CreateSubOrchestrationAction child:
                    outgoing.Add(new OrchestrationMessage(
                        child.InstanceId,
                        null,
                        new ExecutionStarted(now, child.Name, child.InstanceId, NewExecutionId(), child.Input, new ParentInstanceInfo(instanceId, executionId, child.Id, executor.Name))));
                    break;
                case SendEventAction send:
                    outgoing.Add(new OrchestrationMessage(send.InstanceId, null, new EventRaised(now, send.Name, send.Input)));
                    break;
            }
        }
    }

    private static EpisodeOutcome Complete(
        string instanceId,
        OrchestrationExecutor executor,
        ExecutionStarted started,
        List<HistoryEvent> events,
        bool replaceHistory,
        OrchestrationCompletion? completion,
        List<OrchestrationMessage> outgoing,
        List<ActivityMessage> activities,
        DateTime now,
        bool cacheHit,
        long replayed,
        long applied)
    {
        var status = executor.IsSuspended ? OrchestrationRuntimeStatus.Suspended : OrchestrationRuntimeStatus.Running;
        string? output = null;
        FailureDetails? failure = null;
        var keep = true;
        if (completion is { ContinuedAsNew: true })
        {
            // A generation that continued as new without waiting for anything, more times than any real loop does.
            completion = new OrchestrationCompletion(OrchestrationRuntimeStatus.Failed, null, new FailureDetails(
                typeof(InvalidOperationException).FullName!,
                $"Orchestrator '{executor.Name}' called ContinueAsNew {MaxGenerationsPerEpisode:N0} times in a row without awaiting anything; it would never yield.",
                IsNonRetriable: true));
        }

        if (completion is not null)
        {
            keep = false;
            status = completion.Status;
            output = completion.Output;
            failure = completion.Failure;
            events.Add(new ExecutionCompleted(now, status, output, failure));
            if (started.ParentInstance is { } parent)
            {
                outgoing.Add(new OrchestrationMessage(parent.InstanceId, parent.ExecutionId, ToParent(instanceId, parent, status, output, failure, now)));
            }

            if (status == OrchestrationRuntimeStatus.Terminated && events.OfType<ExecutionTerminated>().FirstOrDefault(t => t.Recursive) is { } recursive)
            {
                foreach (var child in executor.OpenSubOrchestrationInstanceIds)
                {
                    outgoing.Add(new OrchestrationMessage(child, null, new ExecutionTerminated(now, recursive.Reason, Recursive: true)));
                }
            }
        }

        events.Add(new OrchestratorCompleted(now));
        var commit = new OrchestrationCommit
        {
            ExecutionId = started.ExecutionId,
            ReplaceHistory = replaceHistory,
            NewEvents = events,
            State = new InstanceStateUpdate(executor.Name, status, started.Input, output, executor.CustomStatus, failure, started.ParentInstance?.InstanceId),
            ActivityMessages = activities,
            OrchestrationMessages = outgoing,
        };
        return new EpisodeOutcome(commit, keep ? executor : null, cacheHit, replayed, applied);
    }

    private EpisodeOutcome FailUnregistered(
        OrchestrationWorkItem workItem,
        ExecutionStarted started,
        IReadOnlyList<HistoryEvent> history,
        List<HistoryEvent> accepted,
        List<OrchestrationMessage> outgoing,
        DateTime now)
    {
        var failure = new FailureDetails(
            typeof(InvalidOperationException).FullName!,
            $"No orchestrator named '{started.Name}' is registered with this worker. Registered: {string.Join(", ", registry.OrchestratorNames.Order(StringComparer.Ordinal))}.",
            IsNonRetriable: true);
        var events = new List<HistoryEvent>(accepted) { new ExecutionCompleted(now, OrchestrationRuntimeStatus.Failed, null, failure), new OrchestratorCompleted(now) };
        if (started.ParentInstance is { } parent)
        {
            outgoing.Add(new OrchestrationMessage(parent.InstanceId, parent.ExecutionId, new SubOrchestrationInstanceFailed(now, parent.TaskScheduledId, failure)));
        }

        var replace = history.Count > 0 && workItem.Messages.Any(m => m.Event is ExecutionRewound);
        var commit = new OrchestrationCommit
        {
            ExecutionId = started.ExecutionId,
            ReplaceHistory = replace,
            NewEvents = replace ? [.. history, .. events] : events,
            State = new InstanceStateUpdate(started.Name, OrchestrationRuntimeStatus.Failed, started.Input, null, null, failure, started.ParentInstance?.InstanceId),
            OrchestrationMessages = outgoing,
        };
        return new EpisodeOutcome(commit, null, false, 0, accepted.Count);
    }

    /// <summary>
    /// The commit for a work item whose processing threw (a converter, factory or engine fault): the execution
    /// fails with the error as its reason, rather than the work item being retried forever.
    /// </summary>
    public EpisodeOutcome FailOnError(OrchestrationWorkItem workItem, OrchestrationExecutor? cached, IReadOnlyList<HistoryEvent>? history, Exception error)
    {
        var now = timeProvider.GetUtcNow().UtcDateTime;
        var started = cached?.Started;
        var finished = false;
        if (started is null && history is not null)
        {
            var scan = Scan(history);
            started = scan.Started;
            finished = scan.Finished is not null;
        }

        var events = new List<HistoryEvent> { new OrchestratorStarted(now) };
        if (started is null)
        {
            started = workItem.Messages.Select(m => m.Event).OfType<ExecutionStarted>().FirstOrDefault();
            if (started is not null)
            {
                events.Add(started);
            }
        }

        if (started is null || finished)
        {
            return EpisodeOutcome.DropAll(null);
        }

        var failure = new FailureDetails(
            error.GetType().FullName ?? error.GetType().Name,
            $"The worker could not process orchestration '{started.Name}': {error.Message}",
            error.StackTrace,
            IsNonRetriable: true);
        events.Add(new ExecutionCompleted(now, OrchestrationRuntimeStatus.Failed, null, failure));
        events.Add(new OrchestratorCompleted(now));
        var outgoing = new List<OrchestrationMessage>();
        if (started.ParentInstance is { } parent)
        {
            outgoing.Add(new OrchestrationMessage(parent.InstanceId, parent.ExecutionId, new SubOrchestrationInstanceFailed(now, parent.TaskScheduledId, failure)));
        }

        var commit = new OrchestrationCommit
        {
            ExecutionId = started.ExecutionId,
            NewEvents = events,
            State = new InstanceStateUpdate(started.Name, OrchestrationRuntimeStatus.Failed, started.Input, null, cached?.CustomStatus, failure, started.ParentInstance?.InstanceId),
            OrchestrationMessages = outgoing,
        };
        return new EpisodeOutcome(commit, null, false, 0, 0);
    }

    private OrchestrationExecutor? CreateExecutor(ExecutionStarted started, string instanceId) =>
        registry.TryCreateOrchestrator(started.Name, out var orchestrator)
            ? new OrchestrationExecutor(started.Name, instanceId, orchestrator!, converter, loggerFactory)
            : null;

    private static (ExecutionStarted? Started, ExecutionCompleted? Finished) Scan(IReadOnlyList<HistoryEvent> history)
    {
        ExecutionStarted? started = null;
        ExecutionCompleted? finished = null;
        for (var i = 0; i < history.Count; i++)
        {
            switch (history[i])
            {
                case ExecutionStarted s when started is null:
                    started = s;
                    break;
                case ExecutionCompleted c:
                    finished = c;
                    break;
            }
        }

        return (started, finished);
    }

    private static HistoryEvent ToParent(string instanceId, ParentInstanceInfo parent, OrchestrationRuntimeStatus status, string? output, FailureDetails? failure, DateTime now) =>
        status == OrchestrationRuntimeStatus.Completed
            ? new SubOrchestrationInstanceCompleted(now, parent.TaskScheduledId, output)
            : new SubOrchestrationInstanceFailed(now, parent.TaskScheduledId, failure ?? new FailureDetails(
                "Workflows.Durable.OrchestrationTerminated",
                $"Sub-orchestration '{instanceId}' was terminated: {output}"));

    private static bool IsSameParentCall(ParentInstanceInfo parent, ParentInstanceInfo? current) =>
        current is not null
        && string.Equals(parent.InstanceId, current.InstanceId, StringComparison.Ordinal)
        && string.Equals(parent.ExecutionId, current.ExecutionId, StringComparison.Ordinal)
        && parent.TaskScheduledId == current.TaskScheduledId;

    /// <summary>Generations one work item runs back to back before the instance fails as a loop that never yields.</summary>
    internal const int MaxGenerationsPerEpisode = 10_000;

    private static string NewExecutionId() => Guid.NewGuid().ToString("N");
}

/// <summary>The commit of one episode and the executor to cache (null when the execution ended or nothing ran).</summary>
internal sealed record EpisodeOutcome(OrchestrationCommit Commit, OrchestrationExecutor? ExecutorToKeep, bool CacheHit, long EventsReplayed, long EventsApplied)
{
    /// <summary>A commit that only removes the work item's messages.</summary>
    public static EpisodeOutcome DropAll(OrchestrationExecutor? keep) => new(
        new OrchestrationCommit { ExecutionId = keep?.Started?.ExecutionId ?? string.Empty, NewEvents = [], State = null },
        keep,
        keep is not null,
        0,
        0);
}
