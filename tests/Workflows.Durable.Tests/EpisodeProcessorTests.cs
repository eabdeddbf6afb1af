using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Workflows.Durable.Conformance;
using Workflows.Durable.History;
using Workflows.Durable.Serialization;
using Workflows.Durable.Storage;
using Workflows.Durable.Worker;
using Xunit;

namespace Workflows.Durable.Tests;

/// <summary>Redelivered and stray messages (storage is at-least-once) must not change what an episode commits.</summary>
public sealed class EpisodeProcessorTests
{
    private static readonly DateTime T0 = EngineFixture.Start.UtcDateTime;
    private static readonly ParentInstanceInfo Parent = new("parent", "parent-exec", 7, "Parent");

    private readonly EpisodeProcessor _processor;

    public EpisodeProcessorTests()
    {
        var registry = new DurableTaskRegistry();
        TestOrchestrations.RegisterAll(registry);
        _processor = new EpisodeProcessor(registry, JsonDataConverter.Default, NullLoggerFactory.Instance, new FakeTimeProvider(EngineFixture.Start));
    }

    [Fact]
    public void DuplicateActivityResult_IsIgnored_FirstResultWins()
    {
        var (executor, _) = StartChild();

        var outcome = _processor.Process(
            WorkItem(Message(new TaskCompleted(T0, 0, "4")), Message(new TaskCompleted(T0, 0, "9"))),
            executor,
            null);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, outcome.Commit.State!.Status);
        Assert.Equal("5", outcome.Commit.State.Output);
        var toParent = Assert.Single(outcome.Commit.OrchestrationMessages);
        Assert.Equal(new SubOrchestrationInstanceCompleted(T0, 7, "5"), toParent.Event);
    }

    [Fact]
    public void DuplicateActivityResultInALaterEpisode_IsNotRecordedInHistory()
    {
        var start = new ExecutionStarted(T0, "HelloSequence", "seq", "seq-exec", null);
        var first = _processor.Process(WorkItem(new OrchestrationMessage("seq", "seq-exec", start)), null, []);
        var firstResult = new OrchestrationMessage("seq", "seq-exec", new TaskCompleted(T0, 0, "\"Hello Tokyo!\""));
        var second = _processor.Process(WorkItem(firstResult), first.ExecutorToKeep, null);
        Assert.Contains(second.Commit.NewEvents, e => e is TaskCompleted { TaskScheduledId: 0 });

        // The same result again (an at-least-once redelivery): nothing awaits it, so history does not record it.
        var again = new OrchestrationMessage("seq", "seq-exec", new TaskCompleted(T0, 0, "\"Hello again!\""));
        var third = _processor.Process(WorkItem(again), second.ExecutorToKeep, null);

        Assert.DoesNotContain(third.Commit.NewEvents, e => e is TaskCompleted);
        Assert.Equal(OrchestrationRuntimeStatus.Running, third.Commit.State!.Status);
    }

    [Fact]
    public void RedeliveredStartFromTheSameParentCall_IsDroppedSilently()
    {
        var (executor, start) = StartChild();

        var outcome = _processor.Process(WorkItem(Message(start)), executor, null);

        Assert.Empty(outcome.Commit.OrchestrationMessages);
        Assert.Empty(outcome.Commit.ActivityMessages);
        Assert.Equal(OrchestrationRuntimeStatus.Running, outcome.Commit.State!.Status);
    }

    [Fact]
    public void StartFromAnotherParent_ForARunningInstance_FailsThatParentsCall()
    {
        var (executor, start) = StartChild();
        var intruder = start with { ParentInstance = new ParentInstanceInfo("other", "other-exec", 3, "Other") };

        var outcome = _processor.Process(WorkItem(Message(intruder)), executor, null);

        var reply = Assert.Single(outcome.Commit.OrchestrationMessages);
        Assert.Equal("other", reply.InstanceId);
        var failed = Assert.IsType<SubOrchestrationInstanceFailed>(reply.Event);
        Assert.Equal(3, failed.TaskScheduledId);
        Assert.Contains("already exists", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void MessageForAnotherExecution_IsDropped()
    {
        var (executor, _) = StartChild();

        var outcome = _processor.Process(WorkItem(new OrchestrationMessage("child", "old-exec", new TaskCompleted(T0, 0, "4"))), executor, null);

        Assert.Equal(OrchestrationRuntimeStatus.Running, outcome.Commit.State!.Status);
        Assert.DoesNotContain(outcome.Commit.NewEvents, e => e is TaskCompleted);
    }

    [Fact]
    public void MessagesForAFinishedInstance_AreDroppedWithoutStateChange()
    {
        var history = ReplayTests.LoadGolden("hello-sequence.json");

        var outcome = _processor.Process(WorkItem(new OrchestrationMessage("golden-hello", null, new EventRaised(T0, "Late", null))), null, history);

        Assert.Null(outcome.Commit.State);
        Assert.Empty(outcome.Commit.NewEvents);
        Assert.Null(outcome.ExecutorToKeep);
    }

    private static OrchestrationMessage Message(HistoryEvent historyEvent) => new("child", "child-exec", historyEvent);

    private static OrchestrationWorkItem WorkItem(params OrchestrationMessage[] messages) => new()
    {
        InstanceId = messages[0].InstanceId,
        Messages = messages,
        HistoryETag = "1",
        LockState = new object(),
    };

    private (OrchestrationExecutor Executor, ExecutionStarted Start) StartChild()
    {
        var start = new ExecutionStarted(T0, "Child", "child", "child-exec", "2", Parent);
        var first = _processor.Process(WorkItem(Message(start)), null, []);
        var scheduled = Assert.Single(first.Commit.ActivityMessages);
        Assert.Equal("Square", scheduled.Event.Name);
        return (first.ExecutorToKeep!, start);
    }
}
