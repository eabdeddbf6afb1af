using DurableTask.Core;
using DurableTask.Core.History;
using Workflows.DurableTask.Client;
using Xunit;

namespace Workflows.Host.Tests;

/// <summary>Durable Functions' historyEvents shape for the events a sequence does not have.</summary>
public sealed class HistoryEventsJsonTests
{
    private static readonly DateTime T0 = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    [Fact]
    public void FailuresTimersEventsAndSubOrchestrations_FoldSchedulingIntoOutcome_WithPascalCaseFields()
    {
        var failure = new FailureDetails("System.InvalidOperationException", "no luck", "at Somewhere()", null, false);
        HistoryEvent[] history =
        [
            At(new OrchestratorStartedEvent(-1), T0),
            At(new ExecutionStartedEvent(-1, "{\"n\":1}") { Name = "Parent", OrchestrationInstance = new OrchestrationInstance { InstanceId = "p-1", ExecutionId = "e-1" } }, T0),
            At(new TaskScheduledEvent(0) { Name = "Work", Input = "\"in\"" }, T0.AddSeconds(1)),
            At(new SubOrchestrationInstanceCreatedEvent(1) { Name = "Child", InstanceId = "c-1", Input = "2" }, T0.AddSeconds(1)),
            At(new TimerCreatedEvent(2) { FireAt = T0.AddMinutes(5) }, T0.AddSeconds(1)),
            At(new TaskScheduledEvent(3) { Name = "NeverAnswered" }, T0.AddSeconds(1)),
            At(new OrchestratorCompletedEvent(-1), T0.AddSeconds(1)),
            At(new TaskFailedEvent(-1, 0, null, null, failure), T0.AddSeconds(2)),
            At(new SubOrchestrationInstanceCompletedEvent(-1, 1, "{\"ok\":true}"), T0.AddSeconds(3)),
            At(new TimerFiredEvent(-1) { TimerId = 2, FireAt = T0.AddMinutes(5) }, T0.AddMinutes(5)),
            At(new EventRaisedEvent(-1, "\"ada\"") { Name = "Approval" }, T0.AddMinutes(6)),
            At(new ExecutionCompletedEvent(-1, null, OrchestrationStatus.Failed, failure), T0.AddMinutes(7)),
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
            At(new ExecutionStartedEvent(-1, "\"x\"") { Name = "Seq", OrchestrationInstance = new OrchestrationInstance { InstanceId = "s-1", ExecutionId = "e-1" } }, T0),
            At(new TaskScheduledEvent(0) { Name = "Step", Input = "\"x\"" }, T0),
            At(new TaskCompletedEvent(-1, 0, "\"y\""), T0.AddSeconds(1)),
            At(new ExecutionCompletedEvent(-1, "\"y\"", OrchestrationStatus.Completed), T0.AddSeconds(2)),
        ];

        var events = HistoryEventsJson.Create(history, showInput: false, showHistoryOutput: false);

        Assert.Equal(3, events.Count);
        Assert.All(events, static e => Assert.False(e!.AsObject().ContainsKey("Input") || e.AsObject().ContainsKey("Result")));
        Assert.Equal("Step", (string)events[1]!["FunctionName"]!);
    }

    private static HistoryEvent At(HistoryEvent historyEvent, DateTime timestamp)
    {
        historyEvent.Timestamp = timestamp;
        return historyEvent;
    }
}
