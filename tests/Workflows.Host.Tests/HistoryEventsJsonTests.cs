using Workflows.Durable;
using Workflows.Durable.History;
using Workflows.Host.Http;
using Xunit;

namespace Workflows.Host.Tests;

/// <summary>Durable Functions' historyEvents shape for the events a sequence does not have.</summary>
public sealed class HistoryEventsJsonTests
{
    private static readonly DateTime T0 = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    [Fact]
    public void FailuresTimersEventsAndSubOrchestrations_FoldSchedulingIntoOutcome_WithPascalCaseFields()
    {
        var failure = new FailureDetails("System.InvalidOperationException", "no luck", "at Somewhere()");
        HistoryEvent[] history =
        [
            new OrchestratorStarted(T0),
            new ExecutionStarted(T0, "Parent", "p-1", "e-1", "{\"n\":1}"),
            new TaskScheduled(T0.AddSeconds(1), 0, "Work", "\"in\""),
            new SubOrchestrationInstanceCreated(T0.AddSeconds(1), 1, "Child", "c-1", "2"),
            new TimerCreated(T0.AddSeconds(1), 2, T0.AddMinutes(5)),
            new TaskScheduled(T0.AddSeconds(1), 3, "NeverAnswered", null),
            new OrchestratorCompleted(T0.AddSeconds(1)),
            new TaskFailed(T0.AddSeconds(2), 0, failure),
            new SubOrchestrationInstanceCompleted(T0.AddSeconds(3), 1, "{\"ok\":true}"),
            new TimerFired(T0.AddMinutes(5), 2, T0.AddMinutes(5)),
            new EventRaised(T0.AddMinutes(6), "Approval", "\"ada\""),
            new ExecutionCompleted(T0.AddMinutes(7), OrchestrationRuntimeStatus.Failed, null, failure),
        ];

        var events = HistoryEventsJson.Create(history, showInput: true, showHistoryOutput: true).Select(static e => e!.AsObject()).ToList();

        Assert.Equal(
            ["ExecutionStarted", "TimerCreated", "TaskScheduled", "TaskFailed", "SubOrchestrationInstanceCompleted", "TimerFired", "EventRaised", "ExecutionCompleted"],
            events.Select(static e => (string)e["EventType"]!));
        Assert.Equal("Parent", (string)events[0]["FunctionName"]!);
        Assert.Equal(1, (int)events[0]["Input"]!["n"]!);
        Assert.Equal("2026-01-02T03:04:05.0000000Z", (string)events[0]["Timestamp"]!);
        Assert.Equal("2026-01-02T03:09:05.0000000Z", (string)events[1]["FireAt"]!);
        Assert.Equal("NeverAnswered", (string)events[2]["Name"]!);
        var failed = events[3];
        Assert.Equal("Work", (string)failed["FunctionName"]!);
        Assert.Equal("2026-01-02T03:04:06.0000000Z", (string)failed["ScheduledTime"]!);
        Assert.Equal("in", (string)failed["Input"]!);
        Assert.Equal("no luck", (string)failed["Reason"]!);
        Assert.Equal("at Somewhere()", (string)failed["Details"]!);
        Assert.Equal("System.InvalidOperationException", (string)failed["FailureDetails"]!["ErrorType"]!);
        Assert.False(failed.ContainsKey("TaskScheduledId"));
        var child = events[4];
        Assert.Equal("Child", (string)child["FunctionName"]!);
        Assert.True((bool)child["Result"]!["ok"]!);
        Assert.Equal(2, (int)child["Input"]!);
        Assert.Equal("2026-01-02T03:09:05.0000000Z", (string)events[5]["FireAt"]!);
        Assert.False(events[5].ContainsKey("TimerId"));
        Assert.Equal("Approval", (string)events[6]["Name"]!);
        Assert.Equal("ada", (string)events[6]["Input"]!);
        Assert.Equal("Failed", (string)events[7]["OrchestrationStatus"]!);
        Assert.Equal("no luck", (string)events[7]["FailureDetails"]!["ErrorMessage"]!);
    }

    [Fact]
    public void WithoutShowInputOrShowHistoryOutput_InputsAndResultsAreLeftOut()
    {
        HistoryEvent[] history =
        [
            new ExecutionStarted(T0, "Seq", "s-1", "e-1", "\"x\""),
            new TaskScheduled(T0, 0, "Step", "\"x\""),
            new TaskCompleted(T0.AddSeconds(1), 0, "\"y\""),
            new ExecutionCompleted(T0.AddSeconds(2), OrchestrationRuntimeStatus.Completed, "\"y\""),
        ];

        var events = HistoryEventsJson.Create(history, showInput: false, showHistoryOutput: false);

        Assert.Equal(3, events.Count);
        Assert.All(events, static e => Assert.False(e!.AsObject().ContainsKey("Input") || e.AsObject().ContainsKey("Result")));
        Assert.Equal("Step", (string)events[1]!["FunctionName"]!);
    }
}
