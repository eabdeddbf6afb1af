using Workflows.Durable.Conformance;
using Workflows.Durable.History;
using Workflows.Durable.InMemory;
using Workflows.Durable.Worker;
using Xunit;

namespace Workflows.Durable.Tests;

/// <summary>Regression tests for faults that once left instances stuck, dispatchers dead or results misrouted.</summary>
public sealed class RobustnessTests
{
    [Fact]
    public async Task EventWithoutPayload_ForValueTypeWait_GivesDefault_InsteadOfPoisoningTheInstance()
    {
        await using var engine = await EngineFixture.StartAsync(TestOrchestrations.RegisterAll);
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Approval");
        await engine.Harness.WaitAsync(id, m => m.SerializedCustomStatus == "\"waiting\"");

        await engine.Client.RaiseEventAsync(id, "Approve");

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal("rejected", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task OutputThatCannotBeSerialized_FailsTheInstance_WithTheReason()
    {
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddOrchestratorFunc<string?, object>("Cyclic", (_, _) =>
            {
                var node = new Dictionary<string, object>();
                node["self"] = node;
                return Task.FromResult<object>(node);
            }));

        var result = await engine.Harness.RunAsync("Cyclic");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("could not process orchestration 'Cyclic'", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ActivityFactoryThatThrows_FailsTheCall_AndTheDispatcherKeepsWorking()
    {
        var options = new DurableTaskWorkerOptions { MaxConcurrentActivityFunctions = 1, MaxConcurrentOrchestratorFunctions = 2 };
        await using var engine = await EngineFixture.StartAsync(
            registry => registry
                .AddActivity("Bad", () => throw new InvalidOperationException("dependency missing"))
                .AddActivityFunc<int, int>("Good", (_, n) => n)
                .AddOrchestratorFunc<string, int>("Call", (context, name) => context.CallActivityAsync<int>(name, 1)),
            options);

        var bad = await engine.Harness.RunAsync("Call", "Bad");
        var good = await engine.Harness.RunAsync("Call", "Good");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, bad.RuntimeStatus);
        Assert.Contains("dependency missing", bad.FailureDetails!.InnerFailure!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(1, good.ReadOutputAs<int>());
    }

    [Fact]
    public async Task TerminateAndEvents_InTheBatchThatTriggersContinueAsNew_ReachTheNextExecution()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(EngineFixture.Start);
        using var provider = new InMemoryStorageProvider(clock);
        static void Register(DurableTaskRegistry registry) => registry.AddOrchestratorFunc<int, int>("Generations", async (context, n) =>
        {
            context.SetCustomStatus("gen" + n);
            await context.WaitForExternalEvent<string>("go");
            context.ContinueAsNew(n + 1, preserveUnprocessedEvents: true);
            return n;
        });
        var first = await WorkerHarness.StartAsync(provider, Register, timeProvider: clock);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("Generations", 0);
        await first.WaitAsync(id, m => m.SerializedCustomStatus == "\"gen0\"");
        await first.DisposeAsync();

        // With no worker running, all three land in one batch: "go" ends generation 0, the rest come after it.
        await first.Client.RaiseEventAsync(id, "go", "x");
        await first.Client.RaiseEventAsync(id, "go", "y");
        await first.Client.TerminateInstanceAsync(id, "stop");
        await using var second = await WorkerHarness.StartAsync(provider, Register, timeProvider: clock);

        var result = await second.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, result.RuntimeStatus);

        // "y" was carried into generation 1, which consumed it and continued as generation 2 before the terminate.
        Assert.Equal("2", result.SerializedInput);
    }

    [Fact]
    public async Task ResultOfACallFromBeforeARewind_NeverCompletesACallMadeAfterIt()
    {
        var staleSlow = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        int a = 0, slow = 0, fast = 0;
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddActivityFunc<string?, string>("A", (_, _) => Interlocked.Increment(ref a) == 1 ? throw new InvalidOperationException("A down") : "a")
            .AddActivityFunc<string?, string>("Fallback", (_, _) => "fallback")
            .AddActivityFunc<string?, string>("Slow", (_, _) => Interlocked.Increment(ref slow) == 1 ? staleSlow.Task : Task.FromResult("slow"))
            .AddActivityFunc<string?, string>("Fast", (_, _) => Interlocked.Increment(ref fast) == 1 ? throw new InvalidOperationException("fast down") : "fast")
            .AddOrchestratorFunc<string?, string>("Rewound", async (context, _) =>
            {
                string first;
                try
                {
                    first = await context.CallActivityAsync<string>("A");
                }
                catch (TaskFailedException)
                {
                    first = await context.CallActivityAsync<string>("Fallback");
                }

                var slowTask = context.CallActivityAsync<string>("Slow");
                var fastResult = await context.CallActivityAsync<string>("Fast");
                return $"{first}|fast={fastResult}|slow={await slowTask}";
            }));
        try
        {
            var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Rewound");
            var failed = await engine.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
            Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);

            await engine.Client.RewindInstanceAsync(id);
            await engine.WaitForHistoryAsync(id, h => h.OfType<TaskCompleted>().Any(c => c.Result == "\"slow\""));
            staleSlow.SetResult("STALE");

            var done = await engine.Client.WaitForInstanceAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Completed, true, WorkerHarness.Timeout());
            Assert.Equal("a|fast=fast|slow=slow", done.ReadOutputAs<string>());
        }
        finally
        {
            staleSlow.TrySetResult("STALE");
        }
    }

    [Fact]
    public async Task Rewind_OfParentWhoseChildWasTerminated_FailsAgainInsteadOfHanging()
    {
        await using var engine = await EngineFixture.StartAsync(registry =>
        {
            TestOrchestrations.RegisterAll(registry);
            registry.AddOrchestratorFunc<string?, string>("ParentOfApproval", (context, _) => context.CallSubOrchestratorAsync<string>("Approval"));
        });
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("ParentOfApproval");
        var child = $"{id}:0000";
        await engine.Harness.WaitAsync(child, m => m.SerializedCustomStatus == "\"waiting\"");
        await engine.Client.TerminateInstanceAsync(child, "operator");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, (await engine.Client.WaitForInstanceCompletionAsync(id, false, WorkerHarness.Timeout())).RuntimeStatus);

        await engine.Client.RewindInstanceAsync(id);

        await engine.WaitForHistoryAsync(id, h => h.OfType<ExecutionRewound>().Any() && h.OfType<ExecutionCompleted>().Any());
        var state = await engine.Client.GetInstanceAsync(id, true);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, state!.RuntimeStatus);
        Assert.Contains("was terminated", state.FailureDetails!.InnerFailure!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_DoesNotWaitForActivitiesThatIgnoreCancellation_AndGivesTheirWorkBack()
    {
        var neverEnds = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        using var provider = new InMemoryStorageProvider();
        void Register(DurableTaskRegistry registry) => registry
            .AddActivityFunc<string?, string>("Stubborn", (_, _) =>
            {
                started.TrySetResult();
                return Interlocked.Increment(ref runs) == 1 ? neverEnds.Task : Task.FromResult("done");
            })
            .AddOrchestratorFunc<string?, string>("CallsStubborn", (context, _) => context.CallActivityAsync<string>("Stubborn"));
        var first = await WorkerHarness.StartAsync(provider, Register);
        var id = await first.Client.ScheduleNewOrchestrationInstanceAsync("CallsStubborn");
        await started.Task.WaitAsync(WorkerHarness.SafetyTimeout);

        using var expired = new CancellationTokenSource();
        await expired.CancelAsync();
        await first.Worker.StopAsync(expired.Token).WaitAsync(WorkerHarness.SafetyTimeout);

        try
        {
            await using var second = await WorkerHarness.StartAsync(provider, Register);
            var result = await second.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
            Assert.Equal("done", result.ReadOutputAs<string>());
            Assert.Equal(2, runs);
        }
        finally
        {
            neverEnds.TrySetResult("late");
        }
    }
}
