using System.Globalization;
using System.Text;
using Workflows.Durable.History;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Assertions on a committed history in the old engine's event types, read back through its client (the in-process
/// tests); the multi-process tests, on the official SDK, use <see cref="CoreHistoryAssert"/>.
/// </summary>
internal static class HistoryAssert
{
    /// <summary>
    /// <paramref name="expected"/> activity calls were scheduled, each has exactly one committed result, and none
    /// failed: activities are at-least-once, but their results are applied exactly once.
    /// </summary>
    public static void EachTaskCompletedExactlyOnce(IReadOnlyList<HistoryEvent> history, int expected)
    {
        var scheduled = history.OfType<TaskScheduled>().Select(e => e.EventId).ToList();
        Assert.True(scheduled.Count == expected, $"{scheduled.Count} TaskScheduled events, expected {expected}. History: {Shape(history)}");
        Assert.Equal(expected, scheduled.Distinct().Count());

        var results = history.OfType<TaskCompleted>().Select(e => e.TaskScheduledId)
            .Concat(history.OfType<TaskFailed>().Select(e => e.TaskScheduledId))
            .GroupBy(id => id)
            .ToDictionary(g => g.Key, g => g.Count());
        var twice = results.Where(r => r.Value > 1).Select(r => r.Key).Order().ToList();
        Assert.True(
            twice.Count == 0,
            $"{twice.Count} TaskScheduled events have more than one committed result, e.g. {string.Join(", ", twice.Take(10))}. History: {Shape(history)}");
        var missing = scheduled.Where(id => !results.ContainsKey(id)).Order().ToList();
        Assert.True(
            missing.Count == 0,
            $"{missing.Count} TaskScheduled events have no committed result, e.g. {string.Join(", ", missing.Take(10))}. History: {Shape(history)}");
        Assert.Empty(results.Keys.Except(scheduled));
        Assert.Empty(history.OfType<TaskFailed>());
    }

    /// <summary>
    /// <paramref name="actual"/> records the same steps as <paramref name="expected"/>: the same decisions (start, calls,
    /// timers, sub-orchestrations, completion) in the same order, and the same results, each once, in any order
    /// (results arrive in whatever order their work finishes). Episode boundaries and timestamps are not compared.
    /// </summary>
    public static void SameSteps(IReadOnlyList<HistoryEvent> expected, IReadOnlyList<HistoryEvent> actual)
    {
        Assert.Equal(Decisions(expected), Decisions(actual));
        Assert.Equal(Results(expected), Results(actual));
        Assert.Equal(
            expected.Count(e => e is not (OrchestratorStarted or OrchestratorCompleted)),
            actual.Count(e => e is not (OrchestratorStarted or OrchestratorCompleted)));
    }

    private static List<string> Decisions(IReadOnlyList<HistoryEvent> history) =>
        [.. history.Where(e => e is ExecutionStarted or TaskScheduled or TimerCreated or SubOrchestrationInstanceCreated or EventSent or ExecutionCompleted).Select(Describe)];

    private static List<string> Results(IReadOnlyList<HistoryEvent> history) =>
        [.. history.Where(e => e is TaskCompleted or TaskFailed or TimerFired or SubOrchestrationInstanceCompleted or SubOrchestrationInstanceFailed or EventRaised)
            .Select(Describe)
            .Order(StringComparer.Ordinal)];

    private static string Describe(HistoryEvent historyEvent) => historyEvent switch
    {
        ExecutionStarted e => $"ExecutionStarted {e.Name}({e.Input}) parent {e.ParentInstance?.InstanceId}#{e.ParentInstance?.TaskScheduledId}",
        TaskScheduled e => $"TaskScheduled #{e.EventId} {e.Name}({e.Input})",
        TimerCreated e => $"TimerCreated #{e.EventId} {e.FireAt:O}",
        SubOrchestrationInstanceCreated e => $"SubOrchestrationInstanceCreated #{e.EventId} {e.Name} {e.InstanceId}({e.Input})",
        EventSent e => $"EventSent #{e.EventId} {e.InstanceId} {e.Name}({e.Input})",
        ExecutionCompleted e => $"ExecutionCompleted {e.Status} {e.Result} {e.FailureDetails?.ErrorMessage}",
        TaskCompleted e => $"TaskCompleted #{e.TaskScheduledId} {e.Result}",
        TaskFailed e => $"TaskFailed #{e.TaskScheduledId} {e.FailureDetails.ErrorMessage}",
        TimerFired e => $"TimerFired #{e.TimerId}",
        SubOrchestrationInstanceCompleted e => $"SubOrchestrationInstanceCompleted #{e.TaskScheduledId} {e.Result}",
        SubOrchestrationInstanceFailed e => $"SubOrchestrationInstanceFailed #{e.TaskScheduledId} {e.FailureDetails.ErrorMessage}",
        EventRaised e => $"EventRaised {e.Name}({e.Input})",
        _ => historyEvent.GetType().Name,
    };

    /// <summary>The history as runs of event types ("OrchestratorStarted ExecutionStarted TaskScheduled×1000 ..."), to show where a failure came in.</summary>
    private static string Shape(IReadOnlyList<HistoryEvent> history)
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
