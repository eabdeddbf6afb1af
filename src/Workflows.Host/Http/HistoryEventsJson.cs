using System.Globalization;
using System.Text.Json.Nodes;
using Workflows.Durable;
using Workflows.Durable.History;

namespace Workflows.Host.Http;

/// <summary>
/// An instance's history in Durable Functions' <c>historyEvents</c> shape: one object per event with PascalCase fields
/// (<c>EventType</c>, <c>Timestamp</c>, ...). As in Durable Functions, a completed or failed activity or
/// sub-orchestration carries its scheduling event's <c>FunctionName</c> and <c>ScheduledTime</c> (and <c>Input</c>)
/// and the scheduling event itself is left out; a scheduling event without an outcome yet stays, with its
/// <c>Name</c>. Episode markers (OrchestratorStarted, OrchestratorCompleted) are left out. Results and inputs are JSON
/// values, not JSON-encoded strings: <c>Result</c> only with showHistoryOutput, <c>Input</c> only with showInput.
/// </summary>
internal static class HistoryEventsJson
{
    public static JsonArray Create(IReadOnlyList<HistoryEvent> history, bool showInput, bool showHistoryOutput)
    {
        // Scheduling events by task id, and the ids whose outcome is in the history (their scheduling event folds into it).
        var tasks = new Dictionary<int, TaskScheduled>();
        var subOrchestrations = new Dictionary<int, SubOrchestrationInstanceCreated>();
        var taskOutcomes = new HashSet<int>();
        var subOrchestrationOutcomes = new HashSet<int>();
        foreach (var historyEvent in history)
        {
            switch (historyEvent)
            {
                case TaskScheduled scheduled:
                    tasks[scheduled.EventId] = scheduled;
                    break;
                case SubOrchestrationInstanceCreated created:
                    subOrchestrations[created.EventId] = created;
                    break;
                case TaskCompleted completed:
                    taskOutcomes.Add(completed.TaskScheduledId);
                    break;
                case TaskFailed failed:
                    taskOutcomes.Add(failed.TaskScheduledId);
                    break;
                case SubOrchestrationInstanceCompleted completed:
                    subOrchestrationOutcomes.Add(completed.TaskScheduledId);
                    break;
                case SubOrchestrationInstanceFailed failed:
                    subOrchestrationOutcomes.Add(failed.TaskScheduledId);
                    break;
            }
        }

        var events = new JsonArray();
        foreach (var historyEvent in history)
        {
            var node = historyEvent switch
            {
                OrchestratorStarted or OrchestratorCompleted => null,
                TaskScheduled scheduled when taskOutcomes.Contains(scheduled.EventId) => null,
                SubOrchestrationInstanceCreated created when subOrchestrationOutcomes.Contains(created.EventId) => null,
                _ => Convert(historyEvent, tasks, subOrchestrations, showInput, showHistoryOutput),
            };
            if (node is not null)
            {
                events.Add(node);
            }
        }

        return events;
    }

    private static JsonObject Convert(
        HistoryEvent historyEvent,
        Dictionary<int, TaskScheduled> tasks,
        Dictionary<int, SubOrchestrationInstanceCreated> subOrchestrations,
        bool showInput,
        bool showHistoryOutput)
    {
        var node = new JsonObject
        {
            ["EventType"] = historyEvent.GetType().Name,
            ["Timestamp"] = Time(historyEvent.Timestamp),
        };
        switch (historyEvent)
        {
            case ExecutionStarted started:
                node["FunctionName"] = started.Name;
                AddInput(node, started.Input, showInput);
                if (started.ScheduledStartTime is { } startAt)
                {
                    node["ScheduledStartTime"] = Time(startAt);
                }

                break;
            case ExecutionCompleted completed:
                node["OrchestrationStatus"] = completed.Status.ToString();
                AddResult(node, completed.Result, showHistoryOutput);
                AddFailure(node, completed.FailureDetails);
                break;
            case ExecutionTerminated terminated:
                // As Durable Functions: a termination's reason is its Input.
                AddInput(node, terminated.Reason, showInput);
                break;
            case ExecutionSuspended suspended:
                node["Reason"] = suspended.Reason;
                break;
            case ExecutionResumed resumed:
                node["Reason"] = resumed.Reason;
                break;
            case ExecutionRewound rewound:
                node["Reason"] = rewound.Reason;
                break;
            case TaskScheduled scheduled:
                node["Name"] = scheduled.Name;
                AddInput(node, scheduled.Input, showInput);
                break;
            case TaskCompleted completed:
                AddScheduled(node, tasks.GetValueOrDefault(completed.TaskScheduledId), showInput);
                AddResult(node, completed.Result, showHistoryOutput);
                break;
            case TaskFailed failed:
                AddScheduled(node, tasks.GetValueOrDefault(failed.TaskScheduledId), showInput);
                AddFailure(node, failed.FailureDetails);
                break;
            case SubOrchestrationInstanceCreated created:
                node["Name"] = created.Name;
                node["InstanceId"] = created.InstanceId;
                AddInput(node, created.Input, showInput);
                break;
            case SubOrchestrationInstanceCompleted completed:
                AddScheduled(node, subOrchestrations.GetValueOrDefault(completed.TaskScheduledId), showInput);
                AddResult(node, completed.Result, showHistoryOutput);
                break;
            case SubOrchestrationInstanceFailed failed:
                AddScheduled(node, subOrchestrations.GetValueOrDefault(failed.TaskScheduledId), showInput);
                AddFailure(node, failed.FailureDetails);
                break;
            case TimerCreated created:
                node["FireAt"] = Time(created.FireAt);
                break;
            case TimerFired fired:
                node["FireAt"] = Time(fired.FireAt);
                break;
            case EventRaised raised:
                node["Name"] = raised.Name;
                AddInput(node, raised.Input, showInput);
                break;
            case EventSent sent:
                node["InstanceId"] = sent.InstanceId;
                node["Name"] = sent.Name;
                AddInput(node, sent.Input, showInput);
                break;
        }

        return node;
    }

    /// <summary>The scheduling event's name, time and input on its outcome (nothing when the history lacks it).</summary>
    private static void AddScheduled(JsonObject node, HistoryEvent? scheduling, bool showInput)
    {
        var (name, input) = scheduling switch
        {
            TaskScheduled task => (task.Name, task.Input),
            SubOrchestrationInstanceCreated sub => (sub.Name, sub.Input),
            _ => (null, null),
        };
        if (scheduling is null)
        {
            return;
        }

        node["ScheduledTime"] = Time(scheduling.Timestamp);
        node["FunctionName"] = name;
        AddInput(node, input, showInput);
    }

    private static void AddInput(JsonObject node, string? serialized, bool showInput)
    {
        if (showInput)
        {
            node["Input"] = InstanceStatusJson.ParsePayload(serialized);
        }
    }

    private static void AddResult(JsonObject node, string? serialized, bool showHistoryOutput)
    {
        if (showHistoryOutput)
        {
            node["Result"] = InstanceStatusJson.ParsePayload(serialized);
        }
    }

    private static void AddFailure(JsonObject node, FailureDetails? failure)
    {
        if (failure is null)
        {
            return;
        }

        node["Reason"] = failure.ErrorMessage;
        node["Details"] = failure.StackTrace;
        node["FailureDetails"] = Failure(failure);
    }

    private static JsonObject Failure(FailureDetails failure) => new()
    {
        ["ErrorType"] = failure.ErrorType,
        ["ErrorMessage"] = failure.ErrorMessage,
        ["StackTrace"] = failure.StackTrace,
        ["InnerFailure"] = failure.InnerFailure is null ? null : Failure(failure.InnerFailure),
        ["IsNonRetriable"] = failure.IsNonRetriable,
    };

    /// <summary>ISO 8601 in UTC with seven fractional digits, as Durable Functions writes history times.</summary>
    private static string Time(DateTime time)
    {
        var utc = time.Kind switch
        {
            DateTimeKind.Local => time.ToUniversalTime(),
            DateTimeKind.Unspecified => DateTime.SpecifyKind(time, DateTimeKind.Utc),
            _ => time,
        };
        return utc.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
    }
}
