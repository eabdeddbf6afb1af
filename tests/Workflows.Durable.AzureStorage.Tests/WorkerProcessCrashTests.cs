using System.Diagnostics;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using Workflows.Durable.AzureStorage.TestWorker;
using Workflows.Testing;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;
using Xunit;
using Xunit.Abstractions;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>A worker process killed in the middle of a large fan-out; a new process finishes it.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class WorkerProcessCrashTests(AzuriteFixture azurite, ITestOutputHelper output) : IDisposable
{
    private const int Activities = 1000;

    /// <summary>Sum of i² for i in [0, 1000).</summary>
    private const long ExpectedSum = 332_833_500;

    /// <summary>A quarter of the fan-out: late enough that some results may be committed, early enough that most are not.</summary>
    private const int KillAfterExecutions = 250;

    /// <summary>Half the fan-out: the kill does not wait for a committed result beyond this.</summary>
    private const int KillAtLatestAfterExecutions = 500;

    private readonly string _journals = Directory.CreateTempSubdirectory("workflows-crash-").FullName;

    // The official SDK's fan-out on a DTFx worker, over our backend or DTFx's own Azure Storage provider. With our
    // in-process activities the kill lands while the fan-out runs after its TaskScheduled events were committed: the
    // new worker takes the partitions once the killed worker's leases expire, finds the instance's recovery marker
    // visible, and re-runs the calls without a committed result. Ours commits exactly one result per call. DTFx's
    // provider finishes with the right output too, but its history may hold a second TaskCompleted for calls that were
    // finishing when the worker was killed (1, 2 and 7 calls in three runs; how many depends on where the kill lands),
    // so on DTFx the test asks for at least one result per call and reports the count.
    [Theory]
    [InlineData(TestWorkerArgs.WorkflowsBackend)]
    [InlineData(TestWorkerArgs.DtfxBackend)]
    public async Task KillWorkerProcess_MidFanOutOfOneThousand_NewWorkerFinishes_OursWithOneCommittedCompletionPerTask(string backend)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var clock = Stopwatch.StartNew();
        var hub = azurite.NewHub(partitionCount: 4);
        // 20 ms per activity and 8 at a time: at least 2.5 s of activity work, so the kill lands mid-run. The
        // killed worker's leases expire after 15 s and its received messages come back after 15 s.
        var settings = new TestWorkerSettings(azurite.ConnectionString, hub.TaskHubName, hub.PartitionCount, _journals, TimeSpan.FromMilliseconds(20))
        {
            LockTimeout = TimeSpan.FromSeconds(15),
            Backend = backend,
        };
        await using var hubClient = SdkHubClient.Create(backend, hub);
        var client = hubClient.Client;
        var transcripts = new List<TestWorkerProcess>();
        try
        {
            await using var crashing = await TestWorkerProcess.StartAsync("crashing", settings, deadline.Token);
            transcripts.Add(crashing);
            var id = await client.ScheduleNewOrchestrationInstanceAsync(RecordedWork.FanOut, Activities, options: null, deadline.Token);
            output.WriteLine($"{clock.Elapsed}: scheduled");

            // Kill by observation, not by time: once the worker has run a quarter of the activities and some of
            // their results are committed, or has run half of them (an engine that commits results late). The
            // assertions below hold wherever the kill lands, also before the first commit or after the last.
            await crashing.WaitUntilAsync(w => w.Executed >= KillAfterExecutions, $"execute {KillAfterExecutions} activities", deadline.Token);
            output.WriteLine($"{clock.Elapsed}: executed {crashing.Executed}");
            await UntilAsync(async () => crashing.Executed >= KillAtLatestAfterExecutions || await HasCommittedCompletionAsync(client, id, deadline.Token), deadline.Token);
            await crashing.KillAsync();
            var atKill = await client.GetOrchestrationHistoryAsync(id, deadline.Token);
            output.WriteLine(
                $"{clock.Elapsed}: killed after {crashing.Executed} executions; committed then: {atKill.OfType<TaskScheduledEvent>().Count()} scheduled, "
                + $"{atKill.OfType<TaskCompletedEvent>().Count()} completed");

            await using var recovering = await TestWorkerProcess.StartAsync("recovering", settings, deadline.Token);
            transcripts.Add(recovering);
            output.WriteLine($"{clock.Elapsed}: new worker ready");
            var result = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, deadline.Token);
            output.WriteLine($"{clock.Elapsed}: completed");

            Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(ExpectedSum, result.ReadOutputAs<long>());
            var history = await client.GetOrchestrationHistoryAsync(id, deadline.Token);
            if (backend == TestWorkerArgs.WorkflowsBackend)
            {
                CoreHistoryAssert.EachTaskCompletedExactlyOnce(history, Activities);
            }
            else
            {
                output.WriteLine($"{CoreHistoryAssert.EachTaskCompletedAtLeastOnce(history, Activities)} calls with a second committed result");
            }

            var executions = ExecutionJournal.Read(crashing.JournalPath, crashing.Name)
                .Concat(ExecutionJournal.Read(recovering.JournalPath, recovering.Name))
                .ToList();
            Assert.Equal(Activities, executions.Select(e => e.IdempotencyKey).Distinct(StringComparer.Ordinal).Count());
            output.WriteLine(
                $"executions: {executions.Count(e => e.Worker == crashing.Name)} by the killed worker, "
                + $"{executions.Count(e => e.Worker == recovering.Name)} by the new one ({executions.Count - Activities} re-runs)");
        }
        catch
        {
            transcripts.ForEach(w => output.WriteLine(w.Transcript));
            throw;
        }
    }

    public void Dispose() => Directory.Delete(_journals, recursive: true);

    private static async Task<bool> HasCommittedCompletionAsync(DurableTaskClient client, string instanceId, CancellationToken cancellationToken)
    {
        var history = await client.GetOrchestrationHistoryAsync(instanceId, cancellationToken);
        return history.Any(e => e is TaskCompletedEvent or ExecutionCompletedEvent);
    }

    /// <summary>Polls storage (external state, no event to wait on) until the condition holds or the deadline passes.</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition, CancellationToken deadline)
    {
        while (!await condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline);
        }
    }
}
