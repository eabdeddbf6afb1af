using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Durable.AzureStorage.TestWorker;
using Workflows.Testing;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;
using Xunit;
using Xunit.Abstractions;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// A worker process killed (SIGKILL) at each step of a commit; the next process finishes the run, and its history
/// records exactly the steps of a run that never crashed. The workers run the official SDK's orchestrations on a DTFx
/// worker over our backend only: the faults are our provider's commit hooks.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WorkerProcessFaultPointTests(AzuriteFixture azurite, ITestOutputHelper output) : IDisposable
{
    private const string Parent = "fault-points";

    /// <summary>The id the parent gives its child.</summary>
    private static readonly string Child = FaultPointWork.ChildId(Parent);

    /// <summary>
    /// Calls the parent schedules in its second commit: more events than one table batch (leading rows), and more
    /// than the worker runs in-process (the rest are spilled to the work-item queue).
    /// </summary>
    private const int Calls = 120;

    private readonly string _journals = Directory.CreateTempSubdirectory("workflows-faults-").FullName;

    [Fact]
    public async Task WorkerKilledAtEachCommitStep_NextProcessFinishes_WithTheHistoryOfARunWithoutCrash()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        var expected = await RunAsync(crashAt: null, deadline.Token);
        Assert.Equal(FaultPointWork.ChildThenFanOutResult(Calls), expected.Output);

        // The parent's second commit takes every step: the child's result is a queue message, its 120 calls are
        // written in more than one batch, run in-process (behind a recovery marker) and spilled.
        foreach (var pair in Enum.GetValues<CommitStep>().Chunk(2))
        {
            var runs = await Task.WhenAll(pair.Select(step => RunAsync(step, deadline.Token)));
            foreach (var run in runs)
            {
                Assert.Equal(expected.Output, run.Output);
                CoreHistoryAssert.SameSteps(expected.Parent, run.Parent);
                CoreHistoryAssert.SameSteps(expected.Child, run.Child);
                CoreHistoryAssert.EachTaskCompletedExactlyOnce(run.Parent, Calls);
            }
        }
    }

    [Fact]
    public async Task WorkerFrozenPastItsLease_MidCommitOfMoreThan99Events_ThawedAfterAnotherFinished_ChangesNothing()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await OnNewHubAsync(workerId: null, async (settings, client, start) =>
        {
            // The first worker stops (SIGSTOP) inside the parent's 123-event commit, after its leading rows.
            var frozen = await start("frozen", settings with { FreezeAt = (nameof(CommitStep.LeadingRowsWritten), Parent, 2) });
            await client.ScheduleNewOrchestrationInstanceAsync(FaultPointWork.ChildThenFanOut, Calls, new StartOrchestrationOptions(Parent), deadline.Token);
            await frozen.WaitUntilAsync(w => w.Printed("freezing at LeadingRowsWritten of commit 2"), "freeze mid-commit", deadline.Token);
            await Eventually.UntilAsync(frozen.IsFrozen, TimeSpan.FromSeconds(30));

            // Its lease expires; another worker takes the partition and runs the parent to completion.
            var other = await start("other", settings);
            var finished = await client.WaitForInstanceCompletionAsync(Parent, getInputsAndOutputs: true, deadline.Token);
            Assert.Equal(SdkRuntimeStatus.Completed, finished.RuntimeStatus);
            var history = await client.GetOrchestrationHistoryAsync(Parent, deadline.Token);

            // Thawed, the first worker goes on with its commit where it stopped; a graceful stop waits for that to end.
            await frozen.ThawAsync();
            await frozen.WaitUntilAsync(w => w.Printed("thawed at LeadingRowsWritten of commit 2"), "go on after the thaw", deadline.Token);
            await frozen.StopAsync(deadline.Token);

            CoreHistoryAssert.Identical(history, await client.GetOrchestrationHistoryAsync(Parent, deadline.Token));
            CoreHistoryAssert.EachTaskCompletedExactlyOnce(history, Calls);
            var row = await client.GetInstanceAsync(Parent, getInputsAndOutputs: true, deadline.Token);
            Assert.Equal(SdkRuntimeStatus.Completed, row!.RuntimeStatus);
            Assert.Equal(finished.SerializedOutput, row.SerializedOutput);
            Assert.Equal(finished.LastUpdatedAt, row.LastUpdatedAt);
            Assert.Equal(FaultPointWork.ChildThenFanOutResult(Calls), row.ReadOutputAs<long>());
            await other.StopAsync(deadline.Token);
            return true;
        }, deadline.Token);
    }

    public void Dispose() => Directory.Delete(_journals, recursive: true);

    /// <summary>Runs the parent on a new hub; with <paramref name="crashAt"/>, the first process dies there and a second finishes.</summary>
    private Task<Run> RunAsync(CommitStep? crashAt, CancellationToken cancellationToken)
    {
        var name = crashAt?.ToString() ?? "none";
        return OnNewHubAsync("worker-" + name, async (settings, client, start) =>
        {
            var first = await start(name + "-first", crashAt is { } step ? settings with { CrashAt = (step.ToString(), Parent, 2) } : settings);
            await client.ScheduleNewOrchestrationInstanceAsync(FaultPointWork.ChildThenFanOut, Calls, new StartOrchestrationOptions(Parent), cancellationToken);
            var finisher = first;
            if (crashAt is not null)
            {
                await first.WaitForExitAsync(cancellationToken);
                Assert.True(first.Printed($"crashing at {crashAt} of commit 2"), first.Transcript);
                finisher = await start(name + "-second", settings);
            }

            var result = await client.WaitForInstanceCompletionAsync(Parent, getInputsAndOutputs: true, cancellationToken);
            Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
            var run = new Run(
                result.ReadOutputAs<long>(),
                await client.GetOrchestrationHistoryAsync(Parent, cancellationToken),
                await client.GetOrchestrationHistoryAsync(Child, cancellationToken));
            await finisher.StopAsync(cancellationToken);
            return run;
        }, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="body"/> on a new one-partition hub with worker settings for it (2-s message locks), a client,
    /// and a way to start worker processes: on failure their transcripts go to the test output; afterwards each is
    /// killed if it still runs and the hub is deleted.
    /// </summary>
    private async Task<T> OnNewHubAsync<T>(
        string? workerId,
        Func<TestWorkerSettings, DurableTaskClient, Func<string, TestWorkerSettings, Task<TestWorkerProcess>>, Task<T>> body,
        CancellationToken cancellationToken)
    {
        var hub = azurite.NewHub(partitionCount: 1);
        var settings = new TestWorkerSettings(azurite.ConnectionString, hub.TaskHubName, hub.PartitionCount, _journals, TimeSpan.Zero)
        {
            LockTimeout = TimeSpan.FromSeconds(2),
            WorkerId = workerId,
        };
        await using var hubClient = SdkHubClient.Create(TestWorkerArgs.WorkflowsBackend, hub);
        var workers = new List<TestWorkerProcess>();
        async Task<TestWorkerProcess> StartAsync(string name, TestWorkerSettings workerSettings)
        {
            var worker = await TestWorkerProcess.StartAsync(name, workerSettings, cancellationToken);
            workers.Add(worker);
            return worker;
        }

        try
        {
            return await body(settings, hubClient.Client, StartAsync);
        }
        catch
        {
            workers.ForEach(w => output.WriteLine(w.Transcript));
            throw;
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }

            await hubClient.DeleteHubAsync();
        }
    }

    private sealed record Run(long Output, IList<HistoryEvent> Parent, IList<HistoryEvent> Child);
}
