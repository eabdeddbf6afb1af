using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Xunit;

namespace Workflows.DurableTask.Tests.Conformance;

/// <summary>
/// The behaviour every backend must show under DTFx's TaskHubWorker and the official SDK, written once and run
/// against each backend by a derived class.
/// </summary>
public abstract class OrchestrationConformanceTests<TBackend>(TBackend backend)
    where TBackend : BackendFixture
{
    private DurableTaskClient Client => backend.Client;

    [Fact]
    public async Task Hello_sequence_returns_the_activities_results_in_order()
    {
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.HelloSequence));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(["Hello Tokyo!", "Hello Seattle!", "Hello London!"], done.ReadOutputAs<List<string>>());
    }

    [Fact]
    public async Task Fan_out_fan_in_sums_every_activity()
    {
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.FanOutFanIn), 40);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(Enumerable.Range(1, 40).Sum(i => (long)i * i), done.ReadOutputAs<long>());
    }

    [Fact]
    public async Task Sub_orchestration_returns_to_its_parent_and_knows_it()
    {
        string id = NewId("parent");
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.ParentOrchestrator), 7, id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal($"{nameof(ConformanceTasks.ParentOrchestrator)}/{id}:49", done.ReadOutputAs<string>());
        OrchestrationMetadata? child = await Client.GetInstanceAsync(id + ":child", getInputsAndOutputs: true);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, child?.RuntimeStatus);
    }

    /// <remarks>"No earlier" within the backend's <see cref="BackendFixture.TimerPrecision"/>.</remarks>
    [Fact]
    public async Task Durable_timer_fires_no_earlier_than_its_time()
    {
        string id = NewId("timer");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.DurableTimer), 1500, new StartOrchestrationOptions(id));

        OrchestrationMetadata waiting = await WaitForAsync(id, m => m.SerializedCustomStatus is not null);
        Assert.Equal(OrchestrationRuntimeStatus.Running, waiting.RuntimeStatus);
        OrchestrationMetadata done = await CompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(1500) - backend.TimerPrecision, $"The instance finished {clock.Elapsed.TotalMilliseconds} ms after it was scheduled.");
    }

    [Fact]
    public async Task External_event_resumes_the_waiting_orchestrator()
    {
        string id = await StartWaitingForApprovalAsync("event");

        await Client.RaiseEventAsync(id, "approval", "ada");
        OrchestrationMetadata done = await CompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("approved by ada", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Terminate_ends_a_waiting_instance_with_the_given_output()
    {
        string id = await StartWaitingForApprovalAsync("terminate");

        await Client.TerminateInstanceAsync(id, "stopped by test");
        OrchestrationMetadata done = await CompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, done.RuntimeStatus);
        Assert.Equal("stopped by test", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Suspended_instance_holds_its_events_until_resumed()
    {
        string id = await StartWaitingForApprovalAsync("suspend");

        await Client.SuspendInstanceAsync(id, "paused");
        await WaitForAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Suspended);
        await Client.RaiseEventAsync(id, "approval", "grace");
        OrchestrationMetadata? held = await Client.GetInstanceAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, held?.RuntimeStatus);

        await Client.ResumeInstanceAsync(id, "go on");
        OrchestrationMetadata done = await CompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("approved by grace", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Continue_as_new_restarts_with_the_new_input()
    {
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.Counter), 0);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(5, done.ReadOutputAs<int>());
    }

    [Fact]
    public async Task Continue_as_new_carries_unprocessed_events_over()
    {
        string id = NewId("carry");
        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.Accumulate), Array.Empty<int>(), new StartOrchestrationOptions(id));
        await WaitForAsync(id, m => m.SerializedCustomStatus is not null);

        await Client.RaiseEventAsync(id, "add", 1);
        await Client.RaiseEventAsync(id, "add", 2);
        await Client.RaiseEventAsync(id, "add", 3);
        OrchestrationMetadata done = await CompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal([1, 2, 3], done.ReadOutputAs<int[]>() ?? []);
    }

    [Fact]
    public async Task Activity_failure_reaches_the_orchestrator_as_TaskFailedException_with_failure_details()
    {
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.CatchActivityFailure));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal($"{nameof(ConformanceTasks.Explode)}|{typeof(InvalidOperationException).FullName}|boom|True", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Uncaught_activity_failure_fails_the_instance_with_the_cause()
    {
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.UncaughtActivityFailure));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        TaskFailureDetails failure = Assert.IsType<TaskFailureDetails>(done.FailureDetails);
        Assert.Equal(typeof(TaskFailedException).FullName, failure.ErrorType);
        Assert.Contains("kaboom", failure.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_policy_retries_a_failing_activity_until_it_succeeds()
    {
        string key = NewId("flaky");
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.RetryFlaky), key);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(3, done.ReadOutputAs<int>());
        Assert.Equal(3, ConformanceTasks.FlakyAttempts[key]);
    }

    [Fact]
    public async Task Rewind_reruns_the_failed_activity_each_time_until_it_completes()
    {
        string id = NewId("rewind");
        OrchestrationMetadata first = await RunAsync(nameof(ConformanceTasks.CallFlaky), id, id);

        await Client.RewindInstanceAsync(id, "retry");
        OrchestrationMetadata second = await WaitForFailureAfterAsync(id, first);
        await Client.RewindInstanceAsync(id, "retry again");
        OrchestrationMetadata done = await WaitForAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Completed);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, first.RuntimeStatus);
        Assert.Contains("attempt 1 fails", first.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("attempt 2 fails", second.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(3, done.ReadOutputAs<int>());
        Assert.Equal(3, ConformanceTasks.FlakyAttempts[id]);
    }

    [Fact]
    public async Task Rewind_of_a_parent_reruns_its_failed_sub_orchestration()
    {
        string id = NewId("rewind-parent");
        OrchestrationMetadata first = await RunAsync(nameof(ConformanceTasks.CallFlakyChild), id, id);

        await Client.RewindInstanceAsync(id, "retry");
        await WaitForFailureAfterAsync(id, first);
        await Client.RewindInstanceAsync(id, "retry again");
        OrchestrationMetadata done = await WaitForAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Completed);
        OrchestrationMetadata? child = await Client.GetInstanceAsync(id + "-child", getInputsAndOutputs: true);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, first.RuntimeStatus);
        Assert.Equal(3, done.ReadOutputAs<int>());
        Assert.Equal(OrchestrationRuntimeStatus.Completed, child?.RuntimeStatus);
        Assert.Equal(3, child?.ReadOutputAs<int>());
    }

    [Fact]
    public async Task Rewind_of_an_instance_that_has_not_failed_is_refused()
    {
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.HelloSequence));

        await Assert.ThrowsAsync<InvalidOperationException>(() => Client.RewindInstanceAsync(done.InstanceId, "not failed"));
    }

    [Fact]
    public async Task Unknown_orchestrator_fails_with_a_readable_reason_and_the_worker_stays_up()
    {
        OrchestrationMetadata failed = await RunAsync("NoSuchOrchestrator");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains("No orchestrator named 'NoSuchOrchestrator' is registered", failed.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        OrchestrationMetadata after = await RunAsync(nameof(ConformanceTasks.HelloSequence));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, after.RuntimeStatus);
    }

    [Fact]
    public async Task Unknown_activity_fails_the_instance_with_a_readable_reason()
    {
        OrchestrationMetadata failed = await RunAsync(nameof(ConformanceTasks.CallMissingActivity));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains("No activity named 'NoSuchActivity' is registered", failed.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Input_that_does_not_deserialize_fails_the_instance()
    {
        OrchestrationMetadata failed = await RunAsync(nameof(ConformanceTasks.TypedInput), "not an order");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Equal(typeof(JsonException).FullName, failed.FailureDetails?.ErrorType);
        OrchestrationMetadata good = await RunAsync(nameof(ConformanceTasks.TypedInput), new ConformanceTasks.Order("gpu", 4));
        Assert.Equal(4, good.ReadOutputAs<int>());
    }

    [Fact]
    public async Task Query_finds_instances_by_prefix_and_status_and_purge_removes_them()
    {
        string prefix = NewId("query");
        await RunAsync(nameof(ConformanceTasks.HelloSequence), instanceId: prefix + "-a");
        await RunAsync("NoSuchOrchestrator", instanceId: prefix + "-b");

        List<OrchestrationMetadata> all = await ToListAsync(Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix }));
        List<OrchestrationMetadata> failed = await ToListAsync(Client.GetAllInstancesAsync(
            new OrchestrationQuery { InstanceIdPrefix = prefix, Statuses = [OrchestrationRuntimeStatus.Failed] }));

        Assert.Equal([prefix + "-a", prefix + "-b"], all.Select(m => m.InstanceId).Order(StringComparer.Ordinal));
        Assert.Equal(prefix + "-b", Assert.Single(failed).InstanceId);
        PurgeResult purged = await Client.PurgeInstanceAsync(prefix + "-a");
        Assert.Equal(1, purged.PurgedInstanceCount);
        Assert.Null(await Client.GetInstanceAsync(prefix + "-a"));
    }

    [Fact]
    public async Task Scheduling_over_a_finished_instance_starts_a_new_execution()
    {
        string id = NewId("again");
        OrchestrationMetadata first = await RunAsync(nameof(ConformanceTasks.Counter), 4, id);
        OrchestrationMetadata second = await RunAsync(nameof(ConformanceTasks.Counter), 9, id);

        Assert.Equal(5, first.ReadOutputAs<int>());
        Assert.Equal(9, second.ReadOutputAs<int>());
    }

    /// <summary>Starts <see cref="ConformanceTasks.AwaitApproval"/> and returns its id once it waits for the event.</summary>
    private async Task<string> StartWaitingForApprovalAsync(string what)
    {
        string id = NewId(what);
        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.AwaitApproval), input: null, new StartOrchestrationOptions(id));
        await WaitForAsync(id, m => m.SerializedCustomStatus is not null);
        return id;
    }

    private static string NewId(string what) => $"{what}-{Guid.NewGuid():N}";

    private static async Task<List<T>> ToListAsync<T>(AsyncPageable<T> pageable)
        where T : notnull
    {
        var list = new List<T>();
        await foreach (T item in pageable)
        {
            list.Add(item);
        }

        return list;
    }

    private async Task<OrchestrationMetadata> RunAsync(string name, object? input = null, string? instanceId = null)
    {
        string id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId ?? NewId(name)));
        return await CompletionAsync(id);
    }

    private async Task<OrchestrationMetadata> CompletionAsync(string instanceId)
    {
        using var timeout = new CancellationTokenSource(BackendFixture.SafetyTimeout);
        return await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, timeout.Token);
    }

    /// <summary>Reads the instance until it has failed again since <paramref name="before"/>.</summary>
    private Task<OrchestrationMetadata> WaitForFailureAfterAsync(string instanceId, OrchestrationMetadata before) =>
        WaitForAsync(instanceId, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Failed && m.LastUpdatedAt > before.LastUpdatedAt);

    /// <summary>Reads the instance until <paramref name="condition"/> holds (bounded by the safety timeout).</summary>
    private async Task<OrchestrationMetadata> WaitForAsync(string instanceId, Func<OrchestrationMetadata, bool> condition)
    {
        using var timeout = new CancellationTokenSource(BackendFixture.SafetyTimeout);
        while (true)
        {
            OrchestrationMetadata? metadata = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, timeout.Token);
            if (metadata is not null && condition(metadata))
            {
                return metadata;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), timeout.Token);
        }
    }
}

public sealed class InMemoryConformanceTests(InMemoryBackend backend)
    : OrchestrationConformanceTests<InMemoryBackend>(backend), IClassFixture<InMemoryBackend>;

public sealed class InMemoryExtendedSessionsConformanceTests(InMemoryExtendedSessionsBackend backend)
    : OrchestrationConformanceTests<InMemoryExtendedSessionsBackend>(backend), IClassFixture<InMemoryExtendedSessionsBackend>;

public sealed class AzureStorageConformanceTests(AzureStorageBackend backend)
    : OrchestrationConformanceTests<AzureStorageBackend>(backend), IClassFixture<AzureStorageBackend>;

public sealed class TaskHubConformanceTests(TaskHubBackend backend)
    : OrchestrationConformanceTests<TaskHubBackend>(backend), IClassFixture<TaskHubBackend>;

public sealed class TaskHubWithoutSessionsConformanceTests(TaskHubWithoutSessionsBackend backend)
    : OrchestrationConformanceTests<TaskHubWithoutSessionsBackend>(backend), IClassFixture<TaskHubWithoutSessionsBackend>;
