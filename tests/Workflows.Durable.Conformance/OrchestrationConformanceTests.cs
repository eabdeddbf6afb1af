using Workflows.Durable.History;
using Workflows.Durable.Storage;
using Xunit;

namespace Workflows.Durable.Conformance;

/// <summary>
/// End-to-end orchestrations through a real worker and client on the provider under test (real clock, no
/// future timers, so any backend can run them).
/// </summary>
public abstract class OrchestrationConformanceTests : IAsyncLifetime
{
    private WorkerHarness? _harness;

    protected WorkerHarness Harness => _harness!;

    protected abstract Task<IStorageProvider> CreateProviderAsync();

    protected virtual Task DisposeProviderAsync(IStorageProvider provider) => Task.CompletedTask;

    public async Task InitializeAsync() =>
        _harness = await WorkerHarness.StartAsync(await CreateProviderAsync(), TestOrchestrations.RegisterAll);

    public async Task DisposeAsync()
    {
        if (_harness is not null)
        {
            await _harness.DisposeAsync();
            await DisposeProviderAsync(_harness.Provider);
        }
    }

    [Fact]
    public async Task HelloSequence_CallsActivitiesInOrder()
    {
        var result = await Harness.RunAsync("HelloSequence");

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(["Hello Tokyo!", "Hello Seattle!", "Hello London!"], result.ReadOutputAs<string[]>()!);
        var scheduled = (await Harness.Client.GetOrchestrationHistoryAsync(result.InstanceId)).OfType<TaskScheduled>().Select(t => t.Input!).ToArray();
        Assert.Equal(["\"Tokyo\"", "\"Seattle\"", "\"London\""], scheduled);
    }

    [Fact]
    public async Task FanOutFanIn_OfHundred_SumsAllResults()
    {
        var result = await Harness.RunAsync("FanOutFanIn", 100);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, 100).Sum(i => (long)i * i), result.ReadOutputAs<long>());
        var history = await Harness.Client.GetOrchestrationHistoryAsync(result.InstanceId);
        Assert.Equal(100, history.OfType<TaskScheduled>().Count());
        Assert.Equal(100, history.OfType<TaskCompleted>().Select(c => c.TaskScheduledId).Distinct().Count());
    }

    [Fact]
    public async Task SubOrchestrations_ReturnTheirOutputsToTheParent()
    {
        var result = await Harness.RunAsync("Parent", 5);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal([1, 2, 5, 10, 17], result.ReadOutputAs<int[]>()!);
        var child = await Harness.Client.GetInstanceAsync($"{result.InstanceId}:0000", true);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, child!.RuntimeStatus);
        Assert.Equal(result.InstanceId, child.ParentInstanceId);
    }

    [Fact]
    public async Task ActivityFailure_IsCaughtByOrchestrator_WithTypeAndMessage()
    {
        var result = await Harness.RunAsync("CatchFailure");

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("caught System.InvalidOperationException: disk on fire", result.ReadOutputAs<string>());
        var failed = Assert.Single((await Harness.Client.GetOrchestrationHistoryAsync(result.InstanceId)).OfType<TaskFailed>());
        Assert.Contains("disk on fire", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(failed.FailureDetails.StackTrace));
    }

    [Fact]
    public async Task UncaughtActivityFailure_FailsInstance_WithReadableReason()
    {
        var result = await Harness.RunAsync("Uncaught");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.NotNull(result.FailureDetails);
        Assert.Contains("Task 'Fail' (#0) failed", result.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(typeof(InvalidOperationException).FullName, result.FailureDetails.InnerFailure!.ErrorType);
    }

    [Fact]
    public async Task ExternalEvent_CompletesWaitingOrchestrator()
    {
        var id = await Harness.Client.ScheduleNewOrchestrationInstanceAsync("Approval");
        await Harness.WaitAsync(id, m => m.SerializedCustomStatus == "\"waiting\"");

        await Harness.Client.RaiseEventAsync(id, "approve", true);

        var result = await Harness.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal("approved", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task SendEvent_FromOneOrchestrationReachesAnother()
    {
        var waiting = await Harness.Client.ScheduleNewOrchestrationInstanceAsync("Approval");
        await Harness.WaitAsync(waiting, m => m.SerializedCustomStatus == "\"waiting\"");

        var sender = await Harness.RunAsync("Sender", waiting);

        Assert.Equal("sent", sender.ReadOutputAs<string>());
        var result = await Harness.Client.WaitForInstanceCompletionAsync(waiting, true, WorkerHarness.Timeout());
        Assert.Equal("approved", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Terminate_EndsRunningInstance_WithReasonAsOutput()
    {
        var id = await Harness.Client.ScheduleNewOrchestrationInstanceAsync("Approval");
        await Harness.WaitAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Running);

        await Harness.Client.TerminateInstanceAsync(id, "no longer needed");

        var result = await Harness.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, result.RuntimeStatus);
        Assert.Equal("no longer needed", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task SuspendThenResume_HoldsEventsUntilResumed()
    {
        var id = await Harness.Client.ScheduleNewOrchestrationInstanceAsync("Approval");
        await Harness.WaitAsync(id, m => m.SerializedCustomStatus == "\"waiting\"");

        await Harness.Client.SuspendInstanceAsync(id, "maintenance");
        await Harness.WaitAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Suspended);
        await Harness.Client.RaiseEventAsync(id, "Approve", true);
        var held = await Harness.Client.WaitForInstanceAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Suspended, true, WorkerHarness.Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, held.RuntimeStatus);

        await Harness.Client.ResumeInstanceAsync(id, "done");

        var result = await Harness.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal("approved", result.ReadOutputAs<string>());
        var history = await Harness.Client.GetOrchestrationHistoryAsync(id);
        var suspendedAt = history.ToList().FindIndex(e => e is ExecutionSuspended);
        var resumedAt = history.ToList().FindIndex(e => e is ExecutionResumed);
        var raisedAt = history.ToList().FindIndex(e => e is EventRaised);
        Assert.True(suspendedAt >= 0 && resumedAt > suspendedAt && raisedAt > suspendedAt);
    }

    [Fact]
    public async Task ContinueAsNew_RestartsWithNewInput_AndKeepsHistoryBounded()
    {
        var result = await Harness.RunAsync("Counter", 0);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(10, result.ReadOutputAs<int>());
        var history = await Harness.Client.GetOrchestrationHistoryAsync(result.InstanceId);
        Assert.True(history.Count <= 5, $"history of the last generation only, got {history.Count} events");
        Assert.Equal("10", history.OfType<ExecutionStarted>().Single().Input);
    }

    [Fact]
    public async Task Purge_RemovesFinishedInstanceAndHistory()
    {
        var result = await Harness.RunAsync("HelloSequence");

        Assert.True(await Harness.Client.PurgeInstanceAsync(result.InstanceId));

        Assert.Null(await Harness.Client.GetInstanceAsync(result.InstanceId));
        Assert.Empty(await Harness.Client.GetOrchestrationHistoryAsync(result.InstanceId));
    }

    [Fact]
    public async Task UnknownOrchestrator_FailsInstance_NamingIt()
    {
        var result = await Harness.RunAsync("DoesNotExist");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("No orchestrator named 'DoesNotExist'", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }
}
