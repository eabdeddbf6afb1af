using System.Globalization;
using System.Text.Json.Nodes;
using DurableTask.Core;
using DurableTask.Core.History;

namespace Workflows.DurableTask.Client;

/// <summary>
/// An instance's history in Durable Functions' <c>historyEvents</c> shape: one object per event with PascalCase fields
/// (<c>EventType</c>, <c>Timestamp</c>, ...). As in Durable Functions, a completed or failed activity or
/// sub-orchestration carries its scheduling event's <c>FunctionName</c> and <c>ScheduledTime</c> (and <c>Input</c>)
/// and the scheduling event itself is left out; a scheduling event without an outcome yet stays, with its
/// <c>Name</c>. Episode markers (OrchestratorStarted, OrchestratorCompleted) are left out. Results and inputs are JSON
/// values, not JSON-encoded strings: <c>Result</c> only with showHistoryOutput, <c>Input</c> only with showInput.
/// </summary>
public static class HistoryEventsJson
{
    /// <summary>The <c>historyEvents</c> array of <paramref name="history"/>, in order.</summary>
    public static JsonArray Create(IList<HistoryEvent> history, bool showInput, bool showHistoryOutput)
    {
        // Scheduling events by task id, and the ids whose outcome is in the history (their scheduling event folds into it).
        var tasks = new Dictionary<int, TaskScheduledEvent>();
        var subOrchestrations = new Dictionary<int, SubOrchestrationInstanceCreatedEvent>();
        var taskOutcomes = new HashSet<int>();
        var subOrchestrationOutcomes = new HashSet<int>();
        foreach (var historyEvent in history)
        {
            switch (historyEvent)
            {
                case TaskScheduledEvent scheduled:
                    tasks[scheduled.EventId] = scheduled;
                    break;
                case SubOrchestrationInstanceCreatedEvent created:
                    subOrchestrations[created.EventId] = created;
                    break;
                case TaskCompletedEvent completed:
                    taskOutcomes.Add(completed.TaskScheduledId);
                    break;
                case TaskFailedEvent failed:
                    taskOutcomes.Add(failed.TaskScheduledId);
                    break;
                case SubOrchestrationInstanceCompletedEvent completed:
                    subOrchestrationOutcomes.Add(completed.TaskScheduledId);
                    break;
                case SubOrchestrationInstanceFailedEvent failed:
                    subOrchestrationOutcomes.Add(failed.TaskScheduledId);
                    break;
            }
        }

        var events = new JsonArray();
        foreach (var historyEvent in history)
        {
            var node = historyEvent switch
            {
                OrchestratorStartedEvent or OrchestratorCompletedEvent => null,
                TaskScheduledEvent scheduled when taskOutcomes.Contains(scheduled.EventId) => null,
                SubOrchestrationInstanceCreatedEvent created when subOrchestrationOutcomes.Contains(created.EventId) => null,
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
        Dictionary<int, TaskScheduledEvent> tasks,
        Dictionary<int, SubOrchestrationInstanceCreatedEvent> subOrchestrations,
        bool showInput,
        bool showHistoryOutput)
    {
        var node = new JsonObject
        {
            ["EventType"] = historyEvent.EventType.ToString(),
            ["Timestamp"] = Time(historyEvent.Timestamp),
        };
        switch (historyEvent)
        {
            case ExecutionStartedEvent started:
                node["FunctionName"] = started.Name;
                AddInput(node, started.Input, showInput);
                if (started.ScheduledStartTime is { } startAt)
                {
                    node["ScheduledStartTime"] = Time(startAt);
                }

                break;
            case ExecutionCompletedEvent completed:
                node["OrchestrationStatus"] = completed.OrchestrationStatus.ToString();
                AddResult(node, completed.Result, showHistoryOutput);
                AddFailure(node, completed.FailureDetails, null, null);
                break;
            case ExecutionTerminatedEvent terminated:
                // As Durable Functions: a termination's reason is its Input.
                AddInput(node, terminated.Input, showInput);
                break;
            case ExecutionSuspendedEvent suspended:
                node["Reason"] = suspended.Reason;
                break;
            case ExecutionResumedEvent resumed:
                node["Reason"] = resumed.Reason;
                break;
            case ExecutionRewoundEvent rewound:
                node["Reason"] = rewound.Reason;
                break;
            case TaskScheduledEvent scheduled:
                node["Name"] = scheduled.Name;
                AddActivityInput(node, scheduled.Input, showInput);
                break;
            case TaskCompletedEvent completed:
                AddScheduled(node, tasks.GetValueOrDefault(completed.TaskScheduledId), showInput);
                AddResult(node, completed.Result, showHistoryOutput);
                break;
            case TaskFailedEvent failed:
                AddScheduled(node, tasks.GetValueOrDefault(failed.TaskScheduledId), showInput);
                AddFailure(node, failed.FailureDetails, failed.Reason, failed.Details);
                break;
            case SubOrchestrationInstanceCreatedEvent created:
                node["Name"] = created.Name;
                node["InstanceId"] = created.InstanceId;
                AddInput(node, created.Input, showInput);
                break;
            case SubOrchestrationInstanceCompletedEvent completed:
                AddScheduled(node, subOrchestrations.GetValueOrDefault(completed.TaskScheduledId), showInput);
                AddResult(node, completed.Result, showHistoryOutput);
                break;
            case SubOrchestrationInstanceFailedEvent failed:
                AddScheduled(node, subOrchestrations.GetValueOrDefault(failed.TaskScheduledId), showInput);
                AddFailure(node, failed.FailureDetails, failed.Reason, failed.Details);
                break;
            case TimerCreatedEvent created:
                node["FireAt"] = Time(created.FireAt);
                break;
            case TimerFiredEvent fired:
                node["FireAt"] = Time(fired.FireAt);
                break;
            case EventRaisedEvent raised:
                node["Name"] = raised.Name;
                AddInput(node, raised.Input, showInput);
                break;
            case EventSentEvent sent:
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
            TaskScheduledEvent task => (task.Name, task.Input),
            SubOrchestrationInstanceCreatedEvent sub => (sub.Name, sub.Input),
            _ => (null, null),
        };
        if (scheduling is null)
        {
            return;
        }

        node["ScheduledTime"] = Time(scheduling.Timestamp);
        node["FunctionName"] = name;
        if (scheduling is TaskScheduledEvent)
        {
            AddActivityInput(node, input, showInput);
        }
        else
        {
            // The sub-orchestration's id, so a view of the history can open it.
            node["InstanceId"] = ((SubOrchestrationInstanceCreatedEvent)scheduling).InstanceId;
            AddInput(node, input, showInput);
        }
    }

    private static void AddInput(JsonObject node, string? serialized, bool showInput)
    {
        if (showInput)
        {
            node["Input"] = InstanceStatusJson.ParsePayload(serialized);
        }
    }

    /// <summary>
    /// DTFx records an activity's input as its parameter array; the SDK passes exactly one parameter, which is what
    /// Durable Functions shows.
    /// </summary>
    private static void AddActivityInput(JsonObject node, string? serialized, bool showInput)
    {
        if (showInput)
        {
            var input = InstanceStatusJson.ParsePayload(serialized);
            node["Input"] = input is JsonArray { Count: 1 } parameters ? parameters[0]?.DeepClone() : input;
        }
    }

    private static void AddResult(JsonObject node, string? serialized, bool showHistoryOutput)
    {
        if (showHistoryOutput)
        {
            node["Result"] = InstanceStatusJson.ParsePayload(serialized);
        }
    }

    private static void AddFailure(JsonObject node, FailureDetails? failure, string? reason, string? details)
    {
        if (failure is null)
        {
            if (reason is not null)
            {
                node["Reason"] = reason;
                node["Details"] = details;
            }

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
