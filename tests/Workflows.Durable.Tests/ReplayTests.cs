using Microsoft.Extensions.Logging.Abstractions;
using Workflows.Durable.Conformance;
using Workflows.Durable.History;
using Workflows.Durable.Serialization;
using Workflows.Durable.Worker;
using Xunit;

namespace Workflows.Durable.Tests;

/// <summary>
/// Replay against histories recorded by earlier builds (Golden/*.json): today's engine must read them and
/// reach the same result without new durable calls; changed orchestrator code must be caught.
/// </summary>
public sealed class ReplayTests
{
    [Theory]
    [InlineData("hello-sequence.json")]
    [InlineData("sub-orchestrations.json")]
    [InlineData("event-beats-timer.json")]
    [InlineData("timer-beats-event.json")]
    [InlineData("guids.json")]
    [InlineData("caught-failure.json")]
    public void GoldenHistory_ReplaysToTheRecordedResult_WithoutNewActions(string file)
    {
        var history = LoadGolden(file);
        var recorded = history.OfType<ExecutionCompleted>().Single();

        var (executor, result) = Replay(history, orchestratorName: null);

        Assert.Empty(result.NewActions);
        Assert.NotNull(result.Completion);
        Assert.Equal(recorded.Status, result.Completion.Status);
        Assert.Equal(recorded.Result, result.Completion.Output);
        Assert.Equal(history.Count, executor.EventsApplied);
    }

    [Fact]
    public void GoldenHistory_CutMidRun_ProducesTheRecordedNextAction()
    {
        var history = LoadGolden("hello-sequence.json");
        var firstEpisode = history.TakeWhile(e => e is not OrchestratorCompleted).Append(history.First(e => e is OrchestratorCompleted)).ToList();
        var secondEpisodeStart = history.Skip(firstEpisode.Count).TakeWhile(e => e is OrchestratorStarted or TaskCompleted).ToList();
        var executor = CreateExecutor(history, "HelloSequence");

        executor.Replay(firstEpisode);
        var result = executor.Execute(secondEpisodeStart);

        var action = Assert.Single(result.NewActions);
        var recorded = history.OfType<TaskScheduled>().Single(t => t.EventId == 1);
        Assert.Equal(recorded, action.ToHistoryEvent(recorded.Timestamp));
        Assert.Null(result.Completion);
    }

    [Fact]
    public void ChangedOrchestratorCode_IsCaught_NamingEventExpectedAndActual()
    {
        var (_, result) = Replay(LoadGolden("hello-sequence.json"), "HelloSequenceChanged");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.Completion!.Status);
        var failure = result.Completion.Failure!;
        Assert.Equal(typeof(NonDeterministicOrchestrationException).FullName, failure.ErrorType);
        Assert.Contains("event id 0", failure.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("TaskScheduled 'SayHello'", failure.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("CallActivity 'SayGoodbye'", failure.ErrorMessage, StringComparison.Ordinal);
        Assert.True(failure.IsNonRetriable);
    }

    [Fact]
    public void OrchestratorThatNowMakesFewerCalls_IsCaught()
    {
        var (_, result) = Replay(LoadGolden("hello-sequence.json"), "HelloSequenceShortened");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.Completion!.Status);
        Assert.Contains("event id 1", result.Completion.Failure!.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("no durable call with that id", result.Completion.Failure.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonDeterministicOrchestrator_RunningOnAWorker_FailsWithUsefulMessage()
    {
        var version = 1;
        await using var engine = await EngineFixture.StartAsync(
            registry => registry
                .AddActivityFunc<string, string>("SayHello", (_, name) => $"Hello {name}!")
                .AddActivityFunc<int, int>("Square", (_, x) => x * x)
                .AddOrchestratorFunc<string?, string>("Drifting", async (context, _) =>
                {
                    // Simulates a deployment that changed the code while an instance was waiting.
                    var first = version == 1 ? await context.CallActivityAsync<string>("SayHello", "v1") : (await context.CallActivityAsync<int>("Square", 2)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    context.SetCustomStatus("waiting");
                    return first + await context.WaitForExternalEvent<string>("Go");
                }),
            EngineFixture.NoCache());
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Drifting");
        await engine.Harness.WaitAsync(id, m => m.SerializedCustomStatus == "\"waiting\"");

        version = 2;
        await engine.Client.RaiseEventAsync(id, "Go", "!");

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(typeof(NonDeterministicOrchestrationException).FullName, result.FailureDetails!.ErrorType);
        Assert.Contains("history expects TaskScheduled 'SayHello', but the orchestrator code now produced CallActivity 'Square'", result.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void NewGuid_IsDeterministicVersion5_AndDistinctPerCall()
    {
        var history = LoadGolden("guids.json");
        var (_, first) = Replay(history, null);
        var (_, second) = Replay(history, null);

        var guids = JsonDataConverter.Default.Deserialize<string[]>(first.Completion!.Output)!;
        Assert.Equal(first.Completion.Output, second.Completion!.Output);
        Assert.Equal(3, guids.Distinct().Count());
        Assert.All(guids, g => Assert.Equal('5', g[14]));
    }

    internal static IReadOnlyList<HistoryEvent> LoadGolden(string file) =>
        HistorySerializer.DeserializeList(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", file)));

    private static (OrchestrationExecutor Executor, EpisodeResult Result) Replay(IReadOnlyList<HistoryEvent> history, string? orchestratorName)
    {
        var executor = CreateExecutor(history, orchestratorName);
        executor.Replay(history);
        return (executor, executor.Execute([]));
    }

    private static OrchestrationExecutor CreateExecutor(IReadOnlyList<HistoryEvent> history, string? orchestratorName)
    {
        var started = history.OfType<ExecutionStarted>().First();
        var registry = new DurableTaskRegistry();
        GoldenOrchestrations.Register(registry);
        registry
            .AddOrchestratorFunc<string?, string[]>("HelloSequenceChanged", async (context, _) =>
            [
                await context.CallActivityAsync<string>("SayGoodbye", "Tokyo"),
                await context.CallActivityAsync<string>("SayHello", "Seattle"),
            ])
            .AddOrchestratorFunc<string?, string[]>("HelloSequenceShortened", async (context, _) =>
                [await context.CallActivityAsync<string>("SayHello", "Tokyo")]);
        var name = orchestratorName ?? started.Name;
        Assert.True(registry.TryCreateOrchestrator(name, out var orchestrator));
        return new OrchestrationExecutor(name, started.InstanceId, orchestrator!, JsonDataConverter.Default, NullLoggerFactory.Instance);
    }
}
