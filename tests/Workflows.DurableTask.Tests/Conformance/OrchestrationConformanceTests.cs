using System.Text.Json;
using DurableTask.Core.History;
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
        Assert.Contains("'NoSuchOrchestrator'", failed.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        if (backend.RunsCodeInProcess)
        {
            Assert.Contains("No orchestrator named 'NoSuchOrchestrator' is registered", failed.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        }
        OrchestrationMetadata after = await RunAsync(nameof(ConformanceTasks.HelloSequence));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, after.RuntimeStatus);
    }

    [Fact]
    public async Task Unknown_activity_fails_the_instance_with_a_readable_reason()
    {
        OrchestrationMetadata failed = await RunAsync(nameof(ConformanceTasks.CallMissingActivity));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains("'NoSuchActivity'", failed.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        if (backend.RunsCodeInProcess)
        {
            Assert.Contains("No activity named 'NoSuchActivity' is registered", failed.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        }
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

    [Fact]
    public async Task An_orchestration_raises_an_event_in_another_with_SendEvent()
    {
        string receiver = await StartWaitingForApprovalAsync("receiver");

        OrchestrationMetadata sender = await RunAsync(nameof(ConformanceTasks.SendApproval), receiver);
        OrchestrationMetadata done = await CompletionAsync(receiver);

        Assert.Equal("sent", sender.ReadOutputAs<string>());
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal($"approved by {sender.InstanceId}", done.ReadOutputAs<string>());
    }

    /// <remarks>Each retry waits on a durable timer whose fire time, less the time of the episode that set it, is the policy's delay.</remarks>
    [Fact]
    public async Task Retry_policy_backs_off_exponentially_up_to_its_max_interval()
    {
        string key = NewId("backoff");
        OrchestrationMetadata done = await RunAsync(
            nameof(ConformanceTasks.RetryUnreliable),
            new ConformanceTasks.RetryCase(key, Failures: 3, MaxAttempts: 5, FirstIntervalMs: 100, Coefficient: 2, MaxIntervalMs: 250),
            key);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(4, done.ReadOutputAs<int>());
        IList<HistoryEvent> history = await Client.GetOrchestrationHistoryAsync(key);
        Assert.Equal([100, 200, 250], TimersWithEpisodeTime(history).Select(t => Math.Round((t.Timer.FireAt - t.EpisodeTime).TotalMilliseconds)));
        Assert.Equal(4, history.OfType<TaskScheduledEvent>().Count());
        Assert.Equal(3, history.OfType<TaskFailedEvent>().Count());
    }

    [Fact]
    public async Task Retry_policy_gives_up_after_its_max_attempts_with_the_last_failure()
    {
        string key = NewId("give-up");
        OrchestrationMetadata done = await RunAsync(
            nameof(ConformanceTasks.RetryUnreliable),
            new ConformanceTasks.RetryCase(key, Failures: 5, MaxAttempts: 2, FirstIntervalMs: 50),
            key);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains("attempt 2 fails", done.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(2, ConformanceTasks.FlakyAttempts[key]);
        Assert.Equal(2, (await Client.GetOrchestrationHistoryAsync(key)).OfType<TaskFailedEvent>().Count());
    }

    [Fact]
    public async Task Retry_policy_does_not_retry_a_failure_its_handler_declines()
    {
        string key = NewId("declined");
        OrchestrationMetadata done = await RunAsync(
            nameof(ConformanceTasks.RetryUnreliable),
            new ConformanceTasks.RetryCase(key, Failures: 5, MaxAttempts: 5, FirstIntervalMs: 50, RetryOnlyTimeouts: true),
            key);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains("attempt 1 fails", done.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        IList<HistoryEvent> history = await Client.GetOrchestrationHistoryAsync(key);
        Assert.Single(history.OfType<TaskScheduledEvent>());
        Assert.Empty(history.OfType<TimerCreatedEvent>());
    }

    /// <remarks>
    /// The retry timeout counts from the first attempt: a failure seen before it ends is retried, the first one seen
    /// after it is final. Checked against the episode times in the history, so it holds however long each attempt took.
    /// </remarks>
    [Fact]
    public async Task Retry_policy_stops_retrying_once_its_retry_timeout_has_passed()
    {
        string key = NewId("retry-timeout");

        // Retries wait at least 500 ms even where timers fire early, so that the timeout, not the attempts, ends them.
        var interval = TimeSpan.FromMilliseconds(500) + backend.TimerPrecision;
        TimeSpan timeout = 2 * interval;
        OrchestrationMetadata done = await RunAsync(
            nameof(ConformanceTasks.RetryUnreliable),
            new ConformanceTasks.RetryCase(key, Failures: 10, MaxAttempts: 10, FirstIntervalMs: (int)interval.TotalMilliseconds, RetryTimeoutMs: (int)timeout.TotalMilliseconds),
            key);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        IList<HistoryEvent> history = await Client.GetOrchestrationHistoryAsync(key);
        DateTime firstAttempt = history.OfType<OrchestratorStartedEvent>().First().Timestamp;
        int failures = history.OfType<TaskFailedEvent>().Count();
        Assert.InRange(failures, 2, 9);
        Assert.All(TimersWithEpisodeTime(history), t => Assert.True(t.EpisodeTime < firstAttempt + timeout, $"retry set at {t.EpisodeTime:O}, after the timeout"));
        DateTime lastFailureSeen = EpisodeTimeOf(history, history.OfType<TaskFailedEvent>().Last());
        Assert.True(lastFailureSeen >= firstAttempt + timeout, $"gave up at {lastFailureSeen:O}, before the timeout ({firstAttempt + timeout:O})");
    }

    [Fact]
    public async Task An_event_that_arrives_in_time_wins_a_wait_with_timeout()
    {
        string id = NewId("event-wins");
        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.EventOrTimeout), (int)TimeSpan.FromHours(1).TotalMilliseconds, new StartOrchestrationOptions(id));
        await WaitForAsync(id, m => m.SerializedCustomStatus is not null);

        await Client.RaiseEventAsync(id, "data", 5);
        OrchestrationMetadata done = await CompletionAsync(id);

        Assert.Equal("got 5", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task The_timer_wins_a_wait_with_timeout_when_no_event_comes()
    {
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.EventOrTimeout), 200);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("timed out", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task A_cancelled_timer_ends_its_wait_as_cancelled()
    {
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.CancelledTimer));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("cancelled", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Events_raised_before_the_wait_for_them_are_kept_in_order()
    {
        string id = NewId("buffered");
        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.BufferedItems), input: null, new StartOrchestrationOptions(id));
        await WaitForAsync(id, m => m.SerializedCustomStatus is not null);

        await Client.RaiseEventAsync(id, "item", "first");
        await WaitForHistoryAsync(id, h => h.OfType<EventRaisedEvent>().Count() == 1);
        await Client.RaiseEventAsync(id, "item", "second");
        await WaitForHistoryAsync(id, h => h.OfType<EventRaisedEvent>().Count() == 2);
        await Client.RaiseEventAsync(id, "go", "now");
        OrchestrationMetadata done = await CompletionAsync(id);

        Assert.Equal("first,second", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Continue_as_new_keeps_only_the_last_generation_in_the_history()
    {
        string id = NewId("generations");
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.WorkingCounter), 0, id);

        Assert.Equal(5, done.ReadOutputAs<int>());
        IList<HistoryEvent> history = await Client.GetOrchestrationHistoryAsync(id);
        Assert.Equal("5", Assert.Single(history.OfType<ExecutionStartedEvent>()).Input);
        Assert.Single(history.OfType<TaskScheduledEvent>());
        Assert.True(history.Count <= 10, $"the last generation's history only, got {history.Count} events");
    }

    [Fact]
    public async Task Recursive_terminate_ends_the_running_sub_orchestrations_too()
    {
        string id = NewId("tree");
        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.ParentOfWaiters), 2, new StartOrchestrationOptions(id));
        string[] children = [id + ":w0", id + ":w1"];
        foreach (string child in children)
        {
            await WaitForAsync(child, m => m.SerializedCustomStatus is not null);
        }

        await Client.TerminateInstanceAsync(id, new TerminateInstanceOptions("cancelled by operator", Recursive: true));

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, (await CompletionAsync(id)).RuntimeStatus);
        foreach (string child in children)
        {
            OrchestrationMetadata state = await CompletionAsync(child);
            Assert.Equal(OrchestrationRuntimeStatus.Terminated, state.RuntimeStatus);
            Assert.Equal("cancelled by operator", state.ReadOutputAs<string>());
        }
    }

    [Fact]
    public async Task Query_pages_through_instances_and_purge_by_time_range_removes_only_finished_ones_inside_it()
    {
        string prefix = NewId("range");
        await RunAsync(nameof(ConformanceTasks.HelloSequence), instanceId: prefix + "-before");
        DateTimeOffset from = DateTimeOffset.UtcNow;
        string[] inside = [prefix + "-a", prefix + "-b", prefix + "-c"];
        foreach (string id in inside)
        {
            await RunAsync(nameof(ConformanceTasks.HelloSequence), instanceId: id);
        }

        string running = await StartWaitingForApprovalAsync(prefix + "-running");
        DateTimeOffset to = DateTimeOffset.UtcNow;
        List<string> outside = [prefix + "-before", running];
        if (backend.PurgeHonoursCreatedTo)
        {
            await RunAsync(nameof(ConformanceTasks.HelloSequence), instanceId: prefix + "-after");
            outside.Add(prefix + "-after");
        }

        var pages = new List<Page<OrchestrationMetadata>>();
        await foreach (Page<OrchestrationMetadata> page in Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, PageSize = 2, FetchInputsAndOutputs = true }).AsPages())
        {
            pages.Add(page);
        }

        Assert.All(pages, p => Assert.True(p.Values.Count <= 2, $"a page of {p.Values.Count}"));
        List<OrchestrationMetadata> all = [.. pages.SelectMany(p => p.Values)];
        Assert.Equal(inside.Length + outside.Count, all.Select(m => m.InstanceId).Distinct(StringComparer.Ordinal).Count());
        Assert.All(all.Where(m => m.RuntimeStatus == OrchestrationRuntimeStatus.Completed), m => Assert.NotNull(m.SerializedOutput));

        PurgeResult purged = await Client.PurgeAllInstancesAsync(new PurgeInstancesFilter(from, to, [OrchestrationRuntimeStatus.Completed]));

        foreach (string id in inside)
        {
            Assert.Null(await Client.GetInstanceAsync(id));
        }

        List<OrchestrationMetadata> left = await ToListAsync(Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix }));
        Assert.Equal(outside.Order(StringComparer.Ordinal), left.Select(m => m.InstanceId).Order(StringComparer.Ordinal));
        Assert.Equal(3, purged.PurgedInstanceCount);
        await Client.TerminateInstanceAsync(running, "done");
    }

    /// <remarks>"Not before its time" within the backend's <see cref="BackendFixture.TimerPrecision"/>.</remarks>
    [Fact]
    public async Task A_scheduled_start_keeps_the_instance_pending_until_its_time()
    {
        string id = NewId("scheduled");
        DateTimeOffset startAt = DateTimeOffset.UtcNow.AddSeconds(1);
        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.HelloSequence), input: null, new StartOrchestrationOptions(id, startAt));

        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await Client.GetInstanceAsync(id))?.RuntimeStatus);
        OrchestrationMetadata done = await CompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        DateTime started = (await Client.GetOrchestrationHistoryAsync(id)).OfType<OrchestratorStartedEvent>().First().Timestamp;
        Assert.True(started >= startAt.UtcDateTime - backend.TimerPrecision, $"started at {started:O}, scheduled for {startAt:O}");
    }

    [Fact]
    public async Task Terminate_ends_an_instance_still_pending_for_its_scheduled_start()
    {
        string id = NewId("terminate-pending");
        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.AwaitApproval), input: null, new StartOrchestrationOptions(id, DateTimeOffset.UtcNow.AddHours(1)));
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await Client.GetInstanceAsync(id))?.RuntimeStatus);

        await Client.TerminateInstanceAsync(id, "never mind");
        OrchestrationMetadata done = await CompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, done.RuntimeStatus);
        Assert.Equal("never mind", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Many_instances_run_side_by_side()
    {
        string prefix = NewId("many");
        string[] ids = [.. Enumerable.Range(0, 20).Select(i => $"{prefix}-{i}")];
        for (int i = 0; i < ids.Length; i++)
        {
            await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.FanOutFanIn), i % 4, new StartOrchestrationOptions(ids[i]));
        }

        OrchestrationMetadata[] done = await Task.WhenAll(ids.Select(CompletionAsync));

        Assert.All(done, m => Assert.Equal(OrchestrationRuntimeStatus.Completed, m.RuntimeStatus));
        Assert.Equal(ids.Select((_, i) => Enumerable.Range(1, i % 4).Sum(x => (long)x * x)), done.Select(m => m.ReadOutputAs<long>()));
    }

    [Theory]
    [InlineData(null, "came without a payload")]
    [InlineData("not a flag", "could not be read")]
    public async Task An_event_the_wait_cannot_read_fails_the_instance_naming_the_event_and_the_worker_stays_up(string? payload, string reason)
    {
        string id = NewId("bad-event");
        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.AwaitFlag), input: null, new StartOrchestrationOptions(id));
        await WaitForAsync(id, m => m.SerializedCustomStatus is not null);

        await Client.RaiseEventAsync(id, "flag", payload);
        OrchestrationMetadata done = await CompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        if (backend.RunsCodeInProcess)
        {
            Assert.Contains("event 'flag'", done.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
            Assert.Contains(reason, done.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        }

        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await RunAsync(nameof(ConformanceTasks.HelloSequence))).RuntimeStatus);
    }

    [Fact]
    public async Task Output_that_cannot_be_serialized_fails_the_instance_with_the_reason_and_the_worker_stays_up()
    {
        OrchestrationMetadata failed = await RunAsync(nameof(ConformanceTasks.UnserializableOutput));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains("cycle", failed.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await RunAsync(nameof(ConformanceTasks.HelloSequence))).RuntimeStatus);
    }

    [Fact]
    public async Task An_activity_that_cannot_be_built_fails_the_call_with_the_reason_and_the_worker_stays_up()
    {
        OrchestrationMetadata failed = await RunAsync(nameof(ConformanceTasks.CallUnbuildable));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Contains("dependency missing", failed.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await RunAsync(nameof(ConformanceTasks.HelloSequence))).RuntimeStatus);
    }

    [Fact]
    public async Task Restart_runs_again_with_the_original_input_under_the_same_or_a_new_id()
    {
        string id = NewId("restart");
        OrchestrationMetadata first = await RunAsync(nameof(ConformanceTasks.FanOutFanIn), 3, id);

        string sameId = await Client.RestartAsync(id);
        OrchestrationMetadata again = await WaitForAsync(id, m => m.IsCompleted && m.LastUpdatedAt > first.LastUpdatedAt);
        string newId = await Client.RestartAsync(id, restartWithNewInstanceId: true);
        OrchestrationMetadata copy = await CompletionAsync(newId);

        Assert.Equal(id, sameId);
        Assert.NotEqual(id, newId);
        Assert.All(new[] { first, again, copy }, m => Assert.Equal(14, m.ReadOutputAs<long>()));
        Assert.Equal("3", again.SerializedInput);
        Assert.Equal("3", copy.SerializedInput);
    }

    [Fact]
    public async Task Version_and_tags_given_at_start_stay_with_the_instance_and_its_restart()
    {
        string id = NewId("tagged");
        var tags = new Dictionary<string, string> { ["team"] = "ml", ["run"] = "nightly" };
        await Client.ScheduleNewOrchestrationInstanceAsync(
            nameof(ConformanceTasks.FanOutFanIn), 2, new StartOrchestrationOptions(id) { Version = new TaskVersion("1.2"), Tags = tags });
        OrchestrationMetadata done = await CompletionAsync(id);

        string copyId = await Client.RestartAsync(id, restartWithNewInstanceId: true);
        OrchestrationMetadata copy = await CompletionAsync(copyId);

        Assert.Equal(tags, done.Tags);
        Assert.Equal(tags, copy.Tags);
        var started = Assert.Single((await Client.GetOrchestrationHistoryAsync(copyId)).OfType<ExecutionStartedEvent>());
        Assert.Equal("1.2", started.Version);
        Assert.Equal(tags, started.Tags);
    }

    [Fact]
    public async Task Scheduling_over_a_live_instance_is_refused_when_its_status_is_deduplicated_and_replaces_it_otherwise()
    {
        string id = await StartWaitingForApprovalAsync("dedupe");

        var conflict = await Assert.ThrowsAsync<global::DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException>(() => Client.ScheduleNewOrchestrationInstanceAsync(
            nameof(ConformanceTasks.Counter),
            4,
            new StartOrchestrationOptions(id) { DedupeStatuses = [nameof(OrchestrationRuntimeStatus.Pending), nameof(OrchestrationRuntimeStatus.Running)] }));
        Assert.Contains(id, conflict.Message, StringComparison.Ordinal);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await Client.GetInstanceAsync(id))?.RuntimeStatus);

        await Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.Counter), 4, new StartOrchestrationOptions(id));
        OrchestrationMetadata replaced = await WaitForAsync(id, m => m.Name == nameof(ConformanceTasks.Counter) && m.IsCompleted);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, replaced.RuntimeStatus);
        Assert.Equal(5, replaced.ReadOutputAs<int>());
    }

    [Fact]
    public async Task Operations_on_unknown_instances_or_bad_ids_fail_clearly()
    {
        string unknown = NewId("unknown");

        Assert.Null(await Client.GetInstanceAsync(unknown));
        Assert.Equal(0, (await Client.PurgeInstanceAsync(unknown)).PurgedInstanceCount);
        await Assert.ThrowsAsync<ArgumentException>(() => Client.RestartAsync(unknown));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.RewindInstanceAsync(unknown, "why"));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.GetOrchestrationHistoryAsync(unknown));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.ScheduleNewOrchestrationInstanceAsync(nameof(ConformanceTasks.HelloSequence), input: null, new StartOrchestrationOptions("bad/id")));
    }

    /// <remarks>
    /// The SDK's replay-safe logger and <see cref="TaskOrchestrationContext.NewGuid"/> rest on the backend giving each
    /// episode the history it had: code that runs again sees <see cref="TaskOrchestrationContext.IsReplaying"/> and the
    /// same guids.
    /// </remarks>
    [Fact]
    public async Task Replayed_code_knows_it_is_replaying_and_gets_the_same_guids()
    {
        string id = NewId("probe");
        OrchestrationMetadata done = await RunAsync(nameof(ConformanceTasks.ReplayProbe), instanceId: id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        string[] output = done.ReadOutputAs<string[]>() ?? [];
        Assert.Equal([id, id, id], [output[1], output[3], output[5]]);
        string[] guids = [output[0], output[2], output[4]];
        Assert.Equal(3, guids.Distinct(StringComparer.Ordinal).Count());
        ConformanceTasks.ProbeRecord[] records = [.. ConformanceTasks.ProbeRecords[id]];
        for (int step = 0; step < 3; step++)
        {
            ConformanceTasks.ProbeRecord[] runs = [.. records.Where(r => r.Step == step)];
            Assert.Single(runs, r => !r.IsReplaying);
            Assert.All(runs, r => Assert.Equal(guids[step], r.Generated.ToString()));
        }

        if (backend.ReplaysEveryEpisode)
        {
            Assert.Contains(records, r => r.IsReplaying);
        }
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

    /// <summary>Each durable timer with the time of the episode that created it (the orchestration's current time then).</summary>
    private static IEnumerable<(TimerCreatedEvent Timer, DateTime EpisodeTime)> TimersWithEpisodeTime(IList<HistoryEvent> history) =>
        history.OfType<TimerCreatedEvent>().Select(timer => (timer, EpisodeTimeOf(history, timer)));

    /// <summary>The time of the episode that recorded <paramref name="historyEvent"/>: the orchestrator start before it.</summary>
    private static DateTime EpisodeTimeOf(IList<HistoryEvent> history, HistoryEvent historyEvent) =>
        history.Take(history.IndexOf(historyEvent)).OfType<OrchestratorStartedEvent>().Last().Timestamp;

    /// <summary>Reads the instance's history until <paramref name="condition"/> holds (bounded by the safety timeout).</summary>
    private async Task WaitForHistoryAsync(string instanceId, Func<IList<HistoryEvent>, bool> condition)
    {
        using var timeout = new CancellationTokenSource(BackendFixture.SafetyTimeout);
        while (!condition(await Client.GetOrchestrationHistoryAsync(instanceId, timeout.Token)))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), timeout.Token);
        }
    }

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
