using Workflows.Durable.Client;
using Workflows.Durable.Conformance;
using Workflows.Durable.History;
using Workflows.Durable.Storage;
using Xunit;

namespace Workflows.Durable.Tests;

public sealed class ManagementTests
{
    [Fact]
    public async Task Schedule_WithIdOfRunningInstance_IsAConflict_ButAFinishedIdMayBeReused()
    {
        await using var engine = await EngineFixture.StartAsync(TestOrchestrations.RegisterAll);
        await engine.Client.ScheduleNewOrchestrationInstanceAsync("Approval", null, new StartOrchestrationOptions("order-1"));

        var conflict = await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(() =>
            engine.Client.ScheduleNewOrchestrationInstanceAsync("Approval", null, new StartOrchestrationOptions("order-1")));
        Assert.Contains("order-1", conflict.Message, StringComparison.Ordinal);

        await engine.Client.TerminateInstanceAsync("order-1");
        await engine.Client.WaitForInstanceCompletionAsync("order-1", false, WorkerHarness.Timeout());
        await engine.Client.ScheduleNewOrchestrationInstanceAsync("HelloSequence", null, new StartOrchestrationOptions("order-1"));
        var rerun = await engine.Client.WaitForInstanceCompletionAsync("order-1", true, WorkerHarness.Timeout());
        Assert.Equal("HelloSequence", rerun.Name);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, rerun.RuntimeStatus);
    }

    [Fact]
    public async Task Operations_OnUnknownOrFinishedInstances_FailClearly()
    {
        await using var engine = await EngineFixture.StartAsync(TestOrchestrations.RegisterAll);
        await Assert.ThrowsAsync<OrchestrationNotFoundException>(() => engine.Client.RaiseEventAsync("nope", "Approve"));
        await Assert.ThrowsAsync<OrchestrationNotFoundException>(() => engine.Client.TerminateInstanceAsync("nope"));
        await Assert.ThrowsAsync<OrchestrationNotFoundException>(() => engine.Client.RestartAsync("nope"));
        await Assert.ThrowsAsync<ArgumentException>(() => engine.Client.ScheduleNewOrchestrationInstanceAsync("HelloSequence", null, new StartOrchestrationOptions("bad/id")));

        var done = await engine.Harness.RunAsync("HelloSequence");
        var gone = await Assert.ThrowsAsync<OrchestrationStateConflictException>(() => engine.Client.RaiseEventAsync(done.InstanceId, "Approve"));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, gone.Status);
        await Assert.ThrowsAsync<OrchestrationStateConflictException>(() => engine.Client.TerminateInstanceAsync(done.InstanceId));
        await Assert.ThrowsAsync<OrchestrationStateConflictException>(() => engine.Client.RewindInstanceAsync(done.InstanceId));
    }

    [Fact]
    public async Task Restart_RunsAgainWithTheOriginalInput_UnderTheSameOrANewId()
    {
        await using var engine = await EngineFixture.StartAsync(TestOrchestrations.RegisterAll);
        var first = await engine.Harness.RunAsync("FanOutFanIn", 4);

        var sameId = await engine.Client.RestartAsync(first.InstanceId);
        var again = await engine.Client.WaitForInstanceCompletionAsync(sameId, true, WorkerHarness.Timeout());
        var newId = await engine.Client.RestartAsync(first.InstanceId, restartWithNewInstanceId: true);
        var copy = await engine.Client.WaitForInstanceCompletionAsync(newId, true, WorkerHarness.Timeout());

        Assert.Equal(first.InstanceId, sameId);
        Assert.NotEqual(first.ExecutionId, again.ExecutionId);
        Assert.NotEqual(first.InstanceId, newId);
        Assert.Equal(14L, again.ReadOutputAs<long>());
        Assert.Equal(14L, copy.ReadOutputAs<long>());
    }

    [Fact]
    public async Task Rewind_OfFailedInstance_RerunsTheFailedActivity_AndCompletes()
    {
        var healthy = false;
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddActivityFunc<int, int>("Double", (_, x) => x * 2)
            .AddActivityFunc<int, int>("Fragile", (_, x) => healthy ? x + 1 : throw new IOException("share offline"))
            .AddOrchestratorFunc<int, int>("Pipeline", async (context, x) =>
            {
                var doubled = await context.CallActivityAsync<int>("Double", x);
                return await context.CallActivityAsync<int>("Fragile", doubled);
            }));
        var failed = await engine.Harness.RunAsync("Pipeline", 20);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);

        healthy = true;
        await engine.Client.RewindInstanceAsync(failed.InstanceId, "share is back");

        var result = await engine.Client.WaitForInstanceAsync(failed.InstanceId, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Completed, true, WorkerHarness.Timeout());
        Assert.Equal(41, result.ReadOutputAs<int>());
        var history = await engine.Client.GetOrchestrationHistoryAsync(failed.InstanceId);
        Assert.Empty(history.OfType<TaskFailed>());
        Assert.Single(history.OfType<ExecutionRewound>());
        Assert.Equal(1, history.OfType<TaskScheduled>().Count(t => t.Name == "Double"));
    }

    [Fact]
    public async Task Rewind_OfParent_RewindsItsFailedSubOrchestration()
    {
        var healthy = false;
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddActivityFunc<int, int>("Fragile", (_, x) => healthy ? x + 1 : throw new IOException("flaky"))
            .AddOrchestratorFunc<int, int>("FragileChild", (context, x) => context.CallActivityAsync<int>("Fragile", x))
            .AddOrchestratorFunc<int, int>("ParentOfFragile", (context, x) => context.CallSubOrchestratorAsync<int>("FragileChild", x)));
        var failed = await engine.Harness.RunAsync("ParentOfFragile", 1);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, (await engine.Client.GetInstanceAsync($"{failed.InstanceId}:0000"))!.RuntimeStatus);

        healthy = true;
        await engine.Client.RewindInstanceAsync(failed.InstanceId);

        var result = await engine.Client.WaitForInstanceAsync(failed.InstanceId, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Completed, true, WorkerHarness.Timeout());
        Assert.Equal(2, result.ReadOutputAs<int>());
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await engine.Client.GetInstanceAsync($"{failed.InstanceId}:0000"))!.RuntimeStatus);
    }

    [Fact]
    public async Task RecursiveTerminate_TerminatesRunningSubOrchestrations()
    {
        await using var engine = await EngineFixture.StartAsync(registry =>
        {
            TestOrchestrations.RegisterAll(registry);
            registry.AddOrchestratorFunc<int, string[]>("ParentOfWaiters", async (context, n) =>
                await Task.WhenAll(Enumerable.Range(0, n).Select(_ => context.CallSubOrchestratorAsync<string>("Approval"))));
        });
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("ParentOfWaiters", 2);
        await engine.Harness.WaitAsync($"{id}:0000", m => m.SerializedCustomStatus == "\"waiting\"");
        await engine.Harness.WaitAsync($"{id}:0001", m => m.SerializedCustomStatus == "\"waiting\"");

        await engine.Client.TerminateInstanceAsync(id, "cancelled by operator", recursive: true);

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await engine.Client.WaitForInstanceCompletionAsync(id, false, WorkerHarness.Timeout())).RuntimeStatus);
        foreach (var child in new[] { $"{id}:0000", $"{id}:0001" })
        {
            var state = await engine.Client.WaitForInstanceCompletionAsync(child, true, WorkerHarness.Timeout());
            Assert.Equal(OrchestrationRuntimeStatus.Terminated, state.RuntimeStatus);
            Assert.Equal("cancelled by operator", state.ReadOutputAs<string>());
        }
    }

    [Fact]
    public async Task Query_And_PurgeByFilter_WorkThroughTheClient()
    {
        await using var engine = await EngineFixture.StartAsync(TestOrchestrations.RegisterAll);
        for (var i = 0; i < 3; i++)
        {
            await engine.Harness.RunAsync("HelloSequence", instanceId: $"hello-{i}");
        }

        var running = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Approval", null, new StartOrchestrationOptions("approval-1"));
        await engine.Harness.WaitAsync(running, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Running);

        var completed = await engine.Client.QueryInstancesAsync(new OrchestrationQuery { Statuses = [OrchestrationRuntimeStatus.Completed], FetchInputsAndOutputs = true });
        Assert.Equal(["hello-0", "hello-1", "hello-2"], completed.Instances.Select(i => i.InstanceId).Order(StringComparer.Ordinal));
        Assert.All(completed.Instances, i => Assert.NotNull(i.SerializedOutput));
        Assert.Throws<ArgumentException>(() => { _ = engine.Client.QueryInstancesAsync(new OrchestrationQuery { PageSize = 0 }); });
        await Assert.ThrowsAsync<ArgumentException>(() => engine.Client.PurgeAllInstancesAsync(new PurgeInstancesFilter { Statuses = [OrchestrationRuntimeStatus.Running] }));

        Assert.Equal(3, await engine.Client.PurgeAllInstancesAsync(new PurgeInstancesFilter { CreatedFrom = EngineFixture.Start }));
        var left = await engine.Client.QueryInstancesAsync(new OrchestrationQuery());
        Assert.Equal("approval-1", Assert.Single(left.Instances).InstanceId);
    }

    [Fact]
    public async Task UnknownActivity_FailsTheCall_NamingTheActivity()
    {
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddOrchestratorFunc<string?, string>("CallsMissing", (context, _) => context.CallActivityAsync<string>("Missing")));

        var result = await engine.Harness.RunAsync("CallsMissing");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("No activity named 'Missing'", result.FailureDetails!.InnerFailure!.ErrorMessage, StringComparison.Ordinal);
    }
}
