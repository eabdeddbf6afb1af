using System.Globalization;
using System.Text;
using System.Text.Json;
using DurableTask.Core.History;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Assertions on a committed history in DTFx's event types, read back through the official SDK's client
/// (<c>OrchestrationServiceDurableTaskClient.GetOrchestrationHistoryAsync</c>), whichever backend wrote it.
/// </summary>
internal static class CoreHistoryAssert
{
    /// <summary>
    /// <paramref name="expected"/> activity calls were scheduled, each has exactly one committed result, and none
    /// failed: activities are at-least-once, but their results are applied exactly once.
    /// </summary>
    public static void EachTaskCompletedExactlyOnce(IList<HistoryEvent> history, int expected) =>
        Assert.Equal(0, EachTaskCompleted(history, expected, allowSecondResults: false));

    /// <summary>
    /// Like <see cref="EachTaskCompletedExactlyOnce"/>, but a task may have more than one committed result (a provider
    /// that records every delivery of a result, as DTFx's Azure Storage provider does after a crash): how many tasks have.
    /// </summary>
    public static int EachTaskCompletedAtLeastOnce(IList<HistoryEvent> history, int expected) =>
        EachTaskCompleted(history, expected, allowSecondResults: true);

    private static int EachTaskCompleted(IList<HistoryEvent> history, int expected, bool allowSecondResults)
    {
        var scheduled = history.OfType<TaskScheduledEvent>().Select(e => e.EventId).ToList();
        Assert.True(scheduled.Count == expected, $"{scheduled.Count} TaskScheduled events, expected {expected}. History: {Shape(history)}");
        Assert.Equal(expected, scheduled.Distinct().Count());

        var results = history.OfType<TaskCompletedEvent>().Select(e => e.TaskScheduledId)
            .Concat(history.OfType<TaskFailedEvent>().Select(e => e.TaskScheduledId))
            .GroupBy(id => id)
            .ToDictionary(g => g.Key, g => g.Count());
        var twice = results.Where(r => r.Value > 1).Select(r => r.Key).Order().ToList();
        Assert.True(
            allowSecondResults || twice.Count == 0,
            $"{twice.Count} TaskScheduled events have more than one committed result, e.g. {string.Join(", ", twice.Take(10))}. History: {Shape(history)}");
        var missing = scheduled.Where(id => !results.ContainsKey(id)).Order().ToList();
        Assert.True(
            missing.Count == 0,
            $"{missing.Count} TaskScheduled events have no committed result, e.g. {string.Join(", ", missing.Take(10))}. History: {Shape(history)}");
        Assert.Empty(results.Keys.Except(scheduled));
        Assert.Empty(history.OfType<TaskFailedEvent>());
        return twice.Count;
    }

    /// <summary>
    /// <paramref name="actual"/> records the same steps as <paramref name="expected"/>: the same decisions (start, calls,
    /// timers, sub-orchestrations, completion) in the same order, and the same results, each once, in any order
    /// (results arrive in whatever order their work finishes). Episode boundaries and timestamps are not compared.
    /// </summary>
    public static void SameSteps(IList<HistoryEvent> expected, IList<HistoryEvent> actual)
    {
        Assert.Equal(Decisions(expected), Decisions(actual));
        Assert.Equal(Results(expected), Results(actual));
        Assert.Equal(
            expected.Count(e => e is not (OrchestratorStartedEvent or OrchestratorCompletedEvent)),
            actual.Count(e => e is not (OrchestratorStartedEvent or OrchestratorCompletedEvent)));
    }

    /// <summary>
    /// <paramref name="actual"/> is <paramref name="expected"/> read again: the same events, each with the same
    /// properties (ids, timestamps, payloads), in the same order. DTFx's events have no value equality; each is
    /// compared as the JSON of its public properties.
    /// </summary>
    public static void Identical(IList<HistoryEvent> expected, IList<HistoryEvent> actual) =>
        Assert.Equal(expected.Select(Json), actual.Select(Json));

    private static string Json(HistoryEvent historyEvent) => historyEvent.GetType().Name + " " + JsonSerializer.Serialize(historyEvent, historyEvent.GetType());

    private static List<string> Decisions(IList<HistoryEvent> history) =>
        [.. history.Where(e => e is ExecutionStartedEvent or TaskScheduledEvent or TimerCreatedEvent or SubOrchestrationInstanceCreatedEvent or EventSentEvent or ExecutionCompletedEvent).Select(Describe)];

    private static List<string> Results(IList<HistoryEvent> history) =>
        [.. history.Where(e => e is TaskCompletedEvent or TaskFailedEvent or TimerFiredEvent or SubOrchestrationInstanceCompletedEvent or SubOrchestrationInstanceFailedEvent or EventRaisedEvent)
            .Select(Describe)
            .Order(StringComparer.Ordinal)];

    private static string Describe(HistoryEvent historyEvent) => historyEvent switch
    {
        ExecutionStartedEvent e => $"ExecutionStarted {e.Name}({e.Input}) parent {e.ParentInstance?.OrchestrationInstance?.InstanceId}#{e.ParentInstance?.TaskScheduleId}",
        TaskScheduledEvent e => $"TaskScheduled #{e.EventId} {e.Name}({e.Input})",
        TimerCreatedEvent e => $"TimerCreated #{e.EventId} {e.FireAt:O}",
        SubOrchestrationInstanceCreatedEvent e => $"SubOrchestrationInstanceCreated #{e.EventId} {e.Name} {e.InstanceId}({e.Input})",
        EventSentEvent e => $"EventSent #{e.EventId} {e.InstanceId} {e.Name}({e.Input})",
        ExecutionCompletedEvent e => $"ExecutionCompleted {e.OrchestrationStatus} {e.Result} {e.FailureDetails?.ErrorMessage}",
        TaskCompletedEvent e => $"TaskCompleted #{e.TaskScheduledId} {e.Result}",
        TaskFailedEvent e => $"TaskFailed #{e.TaskScheduledId} {e.FailureDetails?.ErrorMessage ?? e.Reason}",
        TimerFiredEvent e => $"TimerFired #{e.TimerId}",
        SubOrchestrationInstanceCompletedEvent e => $"SubOrchestrationInstanceCompleted #{e.TaskScheduledId} {e.Result}",
        SubOrchestrationInstanceFailedEvent e => $"SubOrchestrationInstanceFailed #{e.TaskScheduledId} {e.FailureDetails?.ErrorMessage ?? e.Reason}",
        EventRaisedEvent e => $"EventRaised {e.Name}({e.Input})",
        _ => historyEvent.GetType().Name,
    };

    /// <summary>The history as runs of event types ("OrchestratorStartedEvent ExecutionStartedEvent TaskScheduledEvent×1000 ..."), to show where a failure came in.</summary>
    private static string Shape(IList<HistoryEvent> history)
    {
        var shape = new StringBuilder();
        for (var i = 0; i < history.Count;)
        {
            var type = history[i].GetType();
            var run = 1;
            while (i + run < history.Count && history[i + run].GetType() == type)
            {
                run++;
            }

            shape.Append(shape.Length == 0 ? string.Empty : " ").Append(type.Name);
            if (run > 1)
            {
                shape.Append('×').Append(run.ToString(CultureInfo.InvariantCulture));
            }

            i += run;
        }

        return shape.ToString();
    }
}
