using System.Globalization;
using System.Text;
using Workflows.Durable.History;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>Assertions on a committed history, read back through the client.</summary>
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
