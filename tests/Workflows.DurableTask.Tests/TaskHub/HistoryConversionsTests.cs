using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Serializing;
using Workflows.Durable.AzureStorage.Core;
using Workflows.Durable.History;
using Workflows.Durable.Storage;
using Xunit;
using Dt = global::DurableTask.Core;
using DtHistory = global::DurableTask.Core.History;

namespace Workflows.DurableTask.Tests.TaskHub;

/// <summary>DTFx's history events survive the trip through the task hub's records unchanged (as DTFx serializes them).</summary>
public sealed class HistoryConversionsTests
{
    private static readonly JsonDataConverter Json = new();
    private static readonly DateTime At = new(2026, 12, 5, 12, 34, 56, 789, DateTimeKind.Utc);

    public static TheoryData<string> EventNames => [.. Events().Keys];

    [Theory]
    [MemberData(nameof(EventNames))]
    public void Every_event_type_converts_to_our_record_and_back_unchanged(string name)
    {
        DtHistory.HistoryEvent original = Events()[name];

        Workflows.Durable.History.HistoryEvent stored = original.ToStorage();
        Workflows.Durable.History.HistoryEvent reread = HistorySerializer.DeserializeEvent(HistorySerializer.Serialize(stored));
        DtHistory.HistoryEvent back = reread.ToCore();
        if (back is ExecutionRewoundEvent rewound)
        {
            // The task hub keeps no trace contexts: a rewind comes back with a fresh one, which DTFx's dispatcher needs.
            Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$", rewound.ParentTraceContext?.TraceParent ?? string.Empty);
            rewound.ParentTraceContext = null;
        }

        Assert.Equal(original.GetType(), back.GetType());
        Assert.Equal(Json.Serialize(original), Json.Serialize(back));
    }

    [Fact]
    public void An_event_type_the_schema_cannot_hold_fails_clearly()
    {
        NotSupportedException error = Assert.Throws<NotSupportedException>(() => new GenericEvent(3, "data").ToStorage());
        Assert.Contains(nameof(EventType.GenericEvent), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failure_without_structured_details_is_stored_with_an_empty_type_and_comes_back_without_them()
    {
        var terminatedChild = new SubOrchestrationInstanceFailedEvent(-1, 4, "\"stopped\"", null, null);

        var stored = Assert.IsType<SubOrchestrationInstanceFailed>(terminatedChild.ToStorage());
        var back = Assert.IsType<SubOrchestrationInstanceFailedEvent>(stored.ToCore());

        Assert.Equal(string.Empty, stored.FailureDetails.ErrorType);
        Assert.Equal("\"stopped\"", stored.Reason);
        Assert.Null(back.FailureDetails);
        Assert.Equal("\"stopped\"", back.Reason);
    }

    [Fact]
    public void A_start_message_targets_the_instance_and_names_its_execution_in_the_event()
    {
        var start = new TaskMessage
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = "child", ExecutionId = "e2" },
            Event = new ExecutionStartedEvent(-1, "7") { Name = "Child", OrchestrationInstance = new OrchestrationInstance { InstanceId = "child", ExecutionId = "e2" } },
        };

        OrchestrationMessage stored = start.ToStorage();
        TaskMessage back = stored.ToCore();

        Assert.Null(stored.ExecutionId);
        Assert.Equal("child", back.OrchestrationInstance.InstanceId);
        Assert.Equal("e2", back.OrchestrationInstance.ExecutionId);
    }

    [Fact]
    public void A_timer_message_becomes_visible_at_its_fire_time_and_a_result_keeps_its_execution()
    {
        var timer = new TaskMessage
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = "i", ExecutionId = "e1" },
            Event = new TimerFiredEvent(-1, At) { TimerId = 2 },
        };

        OrchestrationMessage stored = timer.ToStorage(At);

        Assert.Equal(At, stored.VisibleAt);
        Assert.Equal("e1", stored.ExecutionId);
        Assert.Equal("e1", stored.ToCore().OrchestrationInstance.ExecutionId);
    }

    private static Dictionary<string, DtHistory.HistoryEvent> Events()
    {
        var failure = new Dt.FailureDetails("System.InvalidOperationException", "boom", "at X()", new Dt.FailureDetails("System.Exception", "inner", null, null, false), isNonRetriable: true);
        var events = new DtHistory.HistoryEvent[]
        {
            new OrchestratorStartedEvent(-1),
            new OrchestratorCompletedEvent(-1),
            new ExecutionStartedEvent(-1, "{\"n\":1}")
            {
                Name = "Parent",
                Version = "2",
                OrchestrationInstance = new OrchestrationInstance { InstanceId = "i", ExecutionId = "e1" },
                ParentInstance = new ParentInstance
                {
                    Name = "Grandparent",
                    Version = "1",
                    TaskScheduleId = 3,
                    OrchestrationInstance = new OrchestrationInstance { InstanceId = "gp", ExecutionId = "e0" },
                },
                ScheduledStartTime = At.AddMinutes(1),
                Tags = new Dictionary<string, string> { ["team"] = "ml" },
            },
            new ExecutionCompletedEvent(-1, "\"done\"", OrchestrationStatus.Completed),
            new ExecutionCompletedEvent(-1, null, OrchestrationStatus.Failed, failure),
            new ContinueAsNewEvent(-1, "5"),
            new ExecutionTerminatedEvent(-1, "\"stop\""),
            new ExecutionSuspendedEvent(-1, "pause"),
            new ExecutionResumedEvent(-1, "go"),
            new ExecutionRewoundEvent(-1, "again") { ParentExecutionId = "parent-execution" },
            new TaskScheduledEvent(0, "SayHello", "1", "\"Tokyo\"") { Tags = new Dictionary<string, string> { ["k"] = "v" } },
            new TaskCompletedEvent(-1, 0, "\"Hello Tokyo!\""),
            new TaskFailedEvent(-1, 0, null, null, failure),
            new TaskFailedEvent(-1, 0, "legacy reason", "legacy details", null),
            new SubOrchestrationInstanceCreatedEvent(1) { Name = "Child", Version = "3", InstanceId = "i:child", Input = "7" },
            new SubOrchestrationInstanceCompletedEvent(-1, 1, "49"),
            new SubOrchestrationInstanceFailedEvent(-1, 1, null, null, failure),
            new TimerCreatedEvent(2, At.AddSeconds(5)),
            new TimerFiredEvent(-1, At.AddSeconds(5)) { TimerId = 2 },
            new EventRaisedEvent(-1, "\"ada\"") { Name = "approval" },
            new EventSentEvent(4) { InstanceId = "other", Name = "ping", Input = "1" },
        };
        var byName = new Dictionary<string, DtHistory.HistoryEvent>(StringComparer.Ordinal);
        for (int i = 0; i < events.Length; i++)
        {
            events[i].Timestamp = At.AddMilliseconds(i);
            byName[$"{i:D2} {events[i].GetType().Name}"] = events[i];
        }

        return byName;
    }
}
