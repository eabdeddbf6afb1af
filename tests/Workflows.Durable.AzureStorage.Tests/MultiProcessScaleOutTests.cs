using System.Diagnostics;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using Workflows.Durable.AzureStorage.TestWorker;
using Workflows.Testing;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;
using Xunit;
using Xunit.Abstractions;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>Two worker processes sharing one task hub.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class MultiProcessScaleOutTests(AzuriteFixture azurite, ITestOutputHelper output) : IDisposable
{
    private const int Instances = 20;
    private const int ActivitiesPerInstance = 100;

    /// <summary>Sum of i² for i in [0, 100).</summary>
    private const long ExpectedSum = 328_350;

    private readonly string _journals = Directory.CreateTempSubdirectory("workflows-scaleout-").FullName;

    // The official SDK's fan-outs on DTFx workers over our backend. The workers run DTFx's own provider too
    // (`--backend dtfx`, ownership read from its partition table), where this test passed alone in 52-75 s but, under
    // the whole suite's load on two cores, did not finish within its 4 minutes (DTFx's partition-table reads kept
    // exceeding their 2-second timeout): it is not part of the suite.
    [Fact]
    public Task TwoWorkerProcessesOnOneHub_TwoThousandActivities_NoCallRunsInBothAtOnce_AndSurvivorTakesEveryPartition() =>
        RunAsync(TestWorkerArgs.WorkflowsBackend);

    private async Task RunAsync(string backend)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var clock = Stopwatch.StartNew();
        var hub = azurite.NewHub(partitionCount: 4);
        var settings = new TestWorkerSettings(azurite.ConnectionString, hub.TaskHubName, hub.PartitionCount, _journals, TimeSpan.FromMilliseconds(5))
        {
            Backend = backend,
        };
        await using var hubClient = SdkHubClient.Create(backend, hub);
        var client = hubClient.Client;
        var transcripts = new List<TestWorkerProcess>();
        var ids = new List<string>();
        try
        {
            await using var one = await TestWorkerProcess.StartAsync("one", settings, deadline.Token);
            transcripts.Add(one);
            await using var two = await TestWorkerProcess.StartAsync("two", settings, deadline.Token);
            transcripts.Add(two);

            // The first worker takes all four partitions alone; once it sees the second one's heartbeat it gives two back.
            await one.WaitUntilAsync(w => w.OwnedPartitions.Count == 2, "own two partitions", deadline.Token);
            await two.WaitUntilAsync(w => w.OwnedPartitions.Count == 2, "own two partitions", deadline.Token);
            output.WriteLine($"{clock.Elapsed}: balanced");
            Assert.Empty(one.OwnedPartitions.Intersect(two.OwnedPartitions));

            for (var i = 0; i < Instances; i++)
            {
                ids.Add(await client.ScheduleNewOrchestrationInstanceAsync(RecordedWork.FanOut, ActivitiesPerInstance, options: null, deadline.Token));
            }

            foreach (var id in ids)
            {
                var result = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, deadline.Token);
                Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
                Assert.Equal(ExpectedSum, result.ReadOutputAs<long>());
            }

            output.WriteLine($"{clock.Elapsed}: all completed");
            foreach (var id in ids)
            {
                CoreHistoryAssert.EachTaskCompletedExactlyOnce(await client.GetOrchestrationHistoryAsync(id, deadline.Token), ActivitiesPerInstance);
            }

            var byOne = ExecutionJournal.Read(one.JournalPath, one.Name);
            var byTwo = ExecutionJournal.Read(two.JournalPath, two.Name);
            output.WriteLine($"executions: {byOne.Count} by worker one, {byTwo.Count} by worker two");
            Assert.NotEmpty(byOne);
            Assert.NotEmpty(byTwo);
            Assert.Equal(Instances * ActivitiesPerInstance, byOne.Concat(byTwo).Select(e => e.IdempotencyKey).Distinct(StringComparer.Ordinal).Count());
            AssertNoCallRanInTwoProcessesAtOnce(byOne, byTwo);

            // Worker two stops and gives its leases back: worker one takes every partition and still completes work.
            await two.StopAsync(deadline.Token);
            output.WriteLine($"{clock.Elapsed}: worker two stopped");
            await one.WaitUntilAsync(w => w.OwnedPartitions.Count == hub.PartitionCount, "own every partition", deadline.Token);
            output.WriteLine($"{clock.Elapsed}: survivor owns every partition");
            var after = await client.ScheduleNewOrchestrationInstanceAsync(RecordedWork.FanOut, ActivitiesPerInstance, options: null, deadline.Token);
            var afterResult = await client.WaitForInstanceCompletionAsync(after, getInputsAndOutputs: true, deadline.Token);
            Assert.Equal(SdkRuntimeStatus.Completed, afterResult.RuntimeStatus);
            Assert.Equal(ExpectedSum, afterResult.ReadOutputAs<long>());
            output.WriteLine($"{clock.Elapsed}: survivor completed a new instance");
        }
        catch
        {
            transcripts.ForEach(w => output.WriteLine(w.Transcript));
            await DescribeInstancesAsync(client, ids);
            throw;
        }
    }

    public void Dispose() => Directory.Delete(_journals, recursive: true);

    /// <summary>On failure: where each instance stands, so a stuck one shows.</summary>
    private async Task DescribeInstancesAsync(DurableTaskClient client, List<string> ids)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            foreach (var id in ids)
            {
                var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: false, timeout.Token);
                var history = await client.GetOrchestrationHistoryAsync(id, timeout.Token);
                output.WriteLine(
                    $"{id}: {instance?.RuntimeStatus}, {history.OfType<TaskScheduledEvent>().Count()} scheduled, "
                    + $"{history.OfType<TaskCompletedEvent>().Count()} completed, {history.OfType<OrchestratorStartedEvent>().Count()} episodes");
            }
        }
        catch (Exception exception) when (exception is Azure.RequestFailedException or OperationCanceledException)
        {
            output.WriteLine("could not describe the instances: " + exception.Message);
        }
    }

    /// <summary>
    /// Every execution of a call in one process lies wholly before or after every execution of the same call in
    /// the other (re-runs are allowed, at-least-once; simultaneous runs are not).
    /// </summary>
    private static void AssertNoCallRanInTwoProcessesAtOnce(IReadOnlyList<ActivityExecution> one, IReadOnlyList<ActivityExecution> two)
    {
        var twoByKey = two.ToLookup(e => e.IdempotencyKey, StringComparer.Ordinal);
        var overlapping = one
            .SelectMany(a => twoByKey[a.IdempotencyKey].Where(a.Overlaps).Select(b => $"{a.IdempotencyKey}: {a.Start:O}-{a.End:O} and {b.Start:O}-{b.End:O}"))
            .ToList();
        Assert.True(overlapping.Count == 0, $"{overlapping.Count} calls ran in both processes at once, e.g.{Environment.NewLine}{string.Join(Environment.NewLine, overlapping.Take(10))}");
    }
}
