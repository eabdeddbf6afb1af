using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Testing;
using Xunit;
using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Orchestrations end to end on the Azure Storage task hub, checked in the committed history (and, for a purge, in the
/// hub's storage): the official SDK's functions on DTFx's worker over our backend (<see cref="InProcessWorker"/>). The
/// outcomes of the same orchestrations on every backend are the conformance tests of tests/Workflows.DurableTask.Tests.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class TaskHubOrchestrationTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private InProcessWorker? _worker;

    private InProcessWorker Worker => _worker!;

    public async Task InitializeAsync() => _worker = await InProcessWorker.StartAsync(azurite.NewHub(partitionCount: 1), Register);

    public async Task DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.DisposeAsync();
            await _worker.Provider.Clients.DeleteAsync();
        }
    }

    [Fact]
    public async Task HelloSequence_SchedulesItsCallsInOrder_EachResultCommittedOnce()
    {
        var result = await Worker.RunAsync("HelloSequence");

        Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(["Hello Tokyo!", "Hello Seattle!", "Hello London!"], result.ReadOutputAs<string[]>()!);
        var history = await Worker.Client.GetOrchestrationHistoryAsync(result.InstanceId);

        // DTFx records a call's input as the array of its parameters.
        Assert.Equal(["[\"Tokyo\"]", "[\"Seattle\"]", "[\"London\"]"], history.OfType<TaskScheduledEvent>().Select(t => t.Input));
        CoreHistoryAssert.EachTaskCompletedExactlyOnce(history, 3);
    }

    [Fact]
    public async Task FanOutFanIn_OfHundred_SumsAllResults_EachCommittedOnce()
    {
        var result = await Worker.RunAsync("FanOutFanIn", 100);

        Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, 100).Sum(i => (long)i * i), result.ReadOutputAs<long>());
        CoreHistoryAssert.EachTaskCompletedExactlyOnce(await Worker.Client.GetOrchestrationHistoryAsync(result.InstanceId), 100);
    }

    [Fact]
    public async Task UncaughtActivityFailure_FailsInstance_WithTheCauseAsInnerFailure()
    {
        var result = await Worker.RunAsync("Uncaught");

        Assert.Equal(SdkRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(typeof(Microsoft.DurableTask.TaskFailedException).FullName, result.FailureDetails!.ErrorType);
        Assert.Contains("'Fail'", result.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(typeof(InvalidOperationException).FullName, result.FailureDetails.InnerFailure!.ErrorType);
        Assert.Equal("disk on fire", result.FailureDetails.InnerFailure.ErrorMessage);
        var failed = Assert.Single((await Worker.Client.GetOrchestrationHistoryAsync(result.InstanceId)).OfType<TaskFailedEvent>());
        Assert.Equal("disk on fire", failed.FailureDetails!.ErrorMessage);
        Assert.False(string.IsNullOrEmpty(failed.FailureDetails.StackTrace));
    }

    [Fact]
    public async Task SendEvent_FromOneOrchestrationReachesAnother()
    {
        var waiting = await Worker.Client.ScheduleNewOrchestrationInstanceAsync("Approval");
        await WaitForAsync(waiting, m => m.SerializedCustomStatus == "\"waiting\"");

        var sender = await Worker.RunAsync("Sender", waiting);

        Assert.Equal("sent", sender.ReadOutputAs<string>());
        var result = await Worker.Client.WaitForInstanceCompletionAsync(waiting, true, InProcessWorker.Timeout());
        Assert.Equal("approved", result.ReadOutputAs<string>());
        var sent = Assert.Single((await Worker.Client.GetOrchestrationHistoryAsync(sender.InstanceId)).OfType<EventSentEvent>());
        Assert.Equal(waiting, sent.InstanceId);
        Assert.Equal("approve", sent.Name);
        var raised = Assert.Single((await Worker.Client.GetOrchestrationHistoryAsync(waiting)).OfType<EventRaisedEvent>());
        Assert.Equal("approve", raised.Name);
        Assert.Equal("true", raised.Input);
    }

    [Fact]
    public async Task SuspendThenResume_HoldsTheEventUntilResumed_InHistoryOrder()
    {
        var id = await Worker.Client.ScheduleNewOrchestrationInstanceAsync("Approval");
        await WaitForAsync(id, m => m.SerializedCustomStatus == "\"waiting\"");

        await Worker.Client.SuspendInstanceAsync(id, "maintenance");
        await WaitForAsync(id, m => m.RuntimeStatus == SdkRuntimeStatus.Suspended);
        await Worker.Client.RaiseEventAsync(id, "approve", true);
        await WaitForHistoryAsync(id, h => h.OfType<EventRaisedEvent>().Any());
        Assert.Equal(SdkRuntimeStatus.Suspended, (await Worker.Client.GetInstanceAsync(id))!.RuntimeStatus);

        await Worker.Client.ResumeInstanceAsync(id, "done");

        var result = await Worker.Client.WaitForInstanceCompletionAsync(id, true, InProcessWorker.Timeout());
        Assert.Equal("approved", result.ReadOutputAs<string>());
        var history = (await Worker.Client.GetOrchestrationHistoryAsync(id)).ToList();
        var suspendedAt = history.FindIndex(e => e is ExecutionSuspendedEvent);
        var resumedAt = history.FindIndex(e => e is ExecutionResumedEvent);
        var raisedAt = history.FindIndex(e => e is EventRaisedEvent);
        var completedAt = history.FindIndex(e => e is ExecutionCompletedEvent);
        Assert.True(suspendedAt >= 0 && raisedAt > suspendedAt && resumedAt > suspendedAt && completedAt > Math.Max(raisedAt, resumedAt), string.Join(", ", history.Select(e => e.GetType().Name)));
    }

    [Fact]
    public async Task ContinueAsNew_RestartsWithNewInput_AndKeepsHistoryBounded()
    {
        var result = await Worker.RunAsync("Counter", 0);

        Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(10, result.ReadOutputAs<int>());
        // The last generation only: its start (which the episode that continued as new committed) and, DTFx's
        // dispatcher running the new generation in the same work item, its completion.
        var history = await Worker.Client.GetOrchestrationHistoryAsync(result.InstanceId);
        Assert.Equal(
            [nameof(OrchestratorStartedEvent), nameof(ExecutionStartedEvent), nameof(OrchestratorCompletedEvent), nameof(ExecutionCompletedEvent), nameof(OrchestratorCompletedEvent)],
            history.Select(e => e.GetType().Name));
        Assert.Equal("10", history.OfType<ExecutionStartedEvent>().Single().Input);
        Assert.Equal("10", history.OfType<ExecutionCompletedEvent>().Single().Result);
    }

    [Fact]
    public async Task Purge_RemovesFinishedInstanceAndHistory()
    {
        var result = await Worker.RunAsync("HelloSequence");
        Assert.NotEmpty(await Worker.Provider.GetHistoryAsync(result.InstanceId));

        Assert.Equal(1, (await Worker.Client.PurgeInstanceAsync(result.InstanceId)).PurgedInstanceCount);

        Assert.Null(await Worker.Client.GetInstanceAsync(result.InstanceId));
        Assert.Null(await Worker.Provider.GetInstanceAsync(result.InstanceId, false));
        Assert.Empty(await Worker.Provider.GetHistoryAsync(result.InstanceId));
    }

    [Fact]
    public async Task TerminateBeforeAScheduledStart_EndsTheInstanceNow_AndTheStartArrivingLaterIsDropped()
    {
        var id = Guid.NewGuid().ToString("N");
        var tags = new Dictionary<string, string> { ["team"] = "ml" };
        await Worker.Client.ScheduleNewOrchestrationInstanceAsync("Approval", "input", new StartOrchestrationOptions(id, DateTimeOffset.UtcNow.AddHours(1)) { Tags = tags });

        await Worker.Client.TerminateInstanceAsync(id, "never mind");
        var done = await Worker.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, InProcessWorker.Timeout());

        Assert.Equal(SdkRuntimeStatus.Terminated, done.RuntimeStatus);
        Assert.Equal("never mind", done.ReadOutputAs<string>());
        var history = await Worker.Client.GetOrchestrationHistoryAsync(id);
        var started = Assert.IsType<ExecutionStartedEvent>(history[1]);
        Assert.Equal("Approval", started.Name);
        Assert.Equal("\"input\"", started.Input);
        Assert.Equal(tags, started.Tags);
        Assert.Collection(
            history,
            e => Assert.IsType<OrchestratorStartedEvent>(e),
            e => Assert.IsType<ExecutionStartedEvent>(e),
            e => Assert.IsType<ExecutionTerminatedEvent>(e),
            e => Assert.Equal(global::DurableTask.Core.OrchestrationStatus.Terminated, Assert.IsType<ExecutionCompletedEvent>(e).OrchestrationStatus),
            e => Assert.IsType<OrchestratorCompletedEvent>(e));

        // The scheduled start message comes when its time is due (here at once, as a copy): it finds its execution in
        // history and goes without a trace.
        var executionId = started.OrchestrationInstance.ExecutionId;
        await Worker.Provider.SendMessageAsync(new Storage.OrchestrationMessage(id, executionId, new History.ExecutionStarted(DateTime.UtcNow, "Approval", id, executionId, "\"input\"")));
        // Gone, not put back: the one message left in the queue (invisible ones counted) is the original start, an hour out.
        await Eventually.UntilAsync(() => Worker.Provider.Clients.ControlQueues[0].GetProperties().Value.ApproximateMessagesCount == 1, InProcessWorker.SafetyTimeout);

        Assert.Empty((await Worker.Provider.Clients.Poison.PeekMessagesAsync(32)).Value);
        Assert.Equal(SdkRuntimeStatus.Terminated, (await Worker.Client.GetInstanceAsync(id))?.RuntimeStatus);
        Assert.Equal(history.Count, (await Worker.Client.GetOrchestrationHistoryAsync(id)).Count);
    }

    private static void Register(SdkRegistry registry) => registry
        .AddActivityFunc<string, string>("SayHello", (_, name) => $"Hello {name}!")
        .AddActivityFunc<int, int>("Square", (_, x) => x * x)
        .AddActivityFunc<string?, string>("Fail", (_, _) => Task.FromException<string>(new InvalidOperationException("disk on fire")))
        .AddOrchestratorFunc<string?, string[]>("HelloSequence", async (context, _) =>
        [
            await context.CallActivityAsync<string>("SayHello", "Tokyo"),
            await context.CallActivityAsync<string>("SayHello", "Seattle"),
            await context.CallActivityAsync<string>("SayHello", "London"),
        ])
        .AddFanOut("FanOutFanIn", "Square")
        .AddOrchestratorFunc<string?, string>("Uncaught", (context, _) => context.CallActivityAsync<string>("Fail"))
        .AddOrchestratorFunc<string?, string>("Approval", async (context, _) =>
        {
            context.SetCustomStatus("waiting");
            return await context.WaitForExternalEvent<bool>("approve") ? "approved" : "rejected";
        })
        .AddOrchestratorFunc<string, string>("Sender", (context, target) =>
        {
            context.SendEvent(target, "approve", true);
            return Task.FromResult("sent");
        })
        .AddOrchestratorFunc<int, int>("Counter", (context, n) =>
        {
            if (n < 10)
            {
                context.ContinueAsNew(n + 1);
            }

            return Task.FromResult(n);
        });

    /// <summary>Polls the instance (external state) until <paramref name="condition"/> holds.</summary>
    private async Task WaitForAsync(string id, Func<OrchestrationMetadata, bool> condition)
    {
        using var deadline = new CancellationTokenSource(InProcessWorker.SafetyTimeout);
        while (await Worker.Client.GetInstanceAsync(id, getInputsAndOutputs: true, deadline.Token) is not { } metadata || !condition(metadata))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token);
        }
    }

    /// <summary>Polls the committed history until <paramref name="condition"/> holds.</summary>
    private async Task WaitForHistoryAsync(string id, Func<IList<HistoryEvent>, bool> condition)
    {
        using var deadline = new CancellationTokenSource(InProcessWorker.SafetyTimeout);
        while (!condition(await Worker.Client.GetOrchestrationHistoryAsync(id, deadline.Token)))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token);
        }
    }
}
