using Workflows.Durable.Client;
using Workflows.Durable.History;
using Workflows.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// A worker process killed (SIGKILL) at each step of a commit; the next process finishes the run, and its history
/// records exactly the steps of a run that never crashed.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WorkerProcessFaultPointTests(AzuriteFixture azurite, ITestOutputHelper output) : IDisposable
{
    private const string Parent = "fault-points";

    /// <summary>The default sub-orchestration id of the parent's first call.</summary>
    private const string Child = Parent + ":0000";

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
        Assert.Equal(7 * 7 + 1 + Enumerable.Range(0, Calls).Sum(x => (long)x * x), expected.Output);

        // The parent's second commit takes every step: the child's result is a queue message, its 120 calls are
        // written in more than one batch, run in-process (behind a recovery marker) and spilled.
        foreach (var pair in Enum.GetValues<CommitStep>().Chunk(2))
        {
            var runs = await Task.WhenAll(pair.Select(step => RunAsync(step, deadline.Token)));
            foreach (var run in runs)
            {
                Assert.Equal(expected.Output, run.Output);
                HistoryAssert.SameSteps(expected.Parent, run.Parent);
                HistoryAssert.SameSteps(expected.Child, run.Child);
                HistoryAssert.EachTaskCompletedExactlyOnce(run.Parent, Calls);
            }
        }
    }

    public void Dispose() => Directory.Delete(_journals, recursive: true);

    /// <summary>Runs the parent on a new hub; with <paramref name="crashAt"/>, the first process dies there and a second finishes.</summary>
    private async Task<Run> RunAsync(CommitStep? crashAt, CancellationToken cancellationToken)
    {
        var name = crashAt?.ToString() ?? "none";
        var hub = azurite.NewHub(partitionCount: 1);
        var settings = new TestWorkerSettings(azurite.ConnectionString, hub.TaskHubName, hub.PartitionCount, _journals, TimeSpan.Zero)
        {
            LockTimeout = TimeSpan.FromSeconds(2),
            WorkerId = "worker-" + name,
        };
        await using var clientProvider = new AzureStorageProvider(hub);
        var client = new DurableTaskClient(clientProvider);
        var transcripts = new List<TestWorkerProcess>();
        try
        {
            var first = await TestWorkerProcess.StartAsync(name + "-first", crashAt is { } step ? settings with { CrashAt = (step.ToString(), Parent, 2) } : settings, cancellationToken);
            transcripts.Add(first);
            await client.ScheduleNewOrchestrationInstanceAsync("ChildThenFanOut", Calls, new StartOrchestrationOptions(Parent), cancellationToken);
            var finisher = first;
            if (crashAt is not null)
            {
                await first.WaitForExitAsync(cancellationToken);
                Assert.Contains($"crashing at {crashAt} of commit 2", first.Transcript, StringComparison.Ordinal);
                finisher = await TestWorkerProcess.StartAsync(name + "-second", settings, cancellationToken);
                transcripts.Add(finisher);
            }

            var result = await client.WaitForInstanceCompletionAsync(Parent, getInputsAndOutputs: true, cancellationToken);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            var run = new Run(
                result.ReadOutputAs<long>(),
                await client.GetOrchestrationHistoryAsync(Parent, cancellationToken),
                await client.GetOrchestrationHistoryAsync(Child, cancellationToken));
            await finisher.StopAsync(cancellationToken);
            return run;
        }
        catch
        {
            transcripts.ForEach(w => output.WriteLine(w.Transcript));
            throw;
        }
        finally
        {
            foreach (var worker in transcripts)
            {
                await worker.DisposeAsync();
            }

            await clientProvider.Clients.DeleteAsync(CancellationToken.None);
        }
    }

    private sealed record Run(long Output, IReadOnlyList<HistoryEvent> Parent, IReadOnlyList<HistoryEvent> Child);
}
