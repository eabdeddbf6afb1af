using DurableTask.Core;
using DurableTask.Core.Command;
using DurableTask.Core.History;
using DurableTask.Core.Serializing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Logging.Abstractions;
using Workflows.DurableTask;
using Workflows.Functions.Samples;
using Workflows.Testing;
using Xunit;
using Dt = global::DurableTask.Core;

namespace Workflows.Functions.Tests.Golden;

/// <summary>
/// Histories recorded by earlier builds (Golden/*.json, DTFx's JSON of its history events) replayed by today's code
/// through DTFx's executor and the SDK's shims: histories already in storage must keep replaying.
/// </summary>
public sealed class GoldenHistoryTests
{
    private static readonly JsonDataConverter Json = new();

    /// <summary>Golden file, orchestrator, input, and the event to raise (null: none; the timer wins).</summary>
    private static readonly (string File, string Orchestrator, object? Input, string? Approval)[] Recordings =
    [
        ("hello-sequence", HelloSequence.Name, "Lisbon", null),
        ("fan-out-fan-in", FanOutFanIn.Name, 5, null),
        ("sub-orchestrations", GoldenOrchestrations.SubOrchestrations, 3, null),
        ("event-beats-timer", GoldenOrchestrations.EventOrTimer, 3600, "approved"),
        ("timer-beats-event", GoldenOrchestrations.EventOrTimer, 1, null),
        ("guids", GoldenOrchestrations.Guids, null, null),
        ("caught-failure", GoldenOrchestrations.CaughtFailure, null, null),
    ];

    public static TheoryData<string> Files => [.. Recordings.Select(r => r.File)];

    [Theory]
    [MemberData(nameof(Files))]
    public void Replay_OfTheWholeHistory_ReachesTheRecordedResult_WithoutANewCall(string file)
    {
        var history = Load(file);
        var completed = history.OfType<ExecutionCompletedEvent>().Single();

        var actions = Replay(Orchestrator(history), history);

        var completion = Assert.IsType<OrchestrationCompleteOrchestratorAction>(Assert.Single(actions));
        Assert.Equal(completed.OrchestrationStatus, completion.OrchestrationStatus);
        Assert.Equal(completed.Result, completion.Result);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Replay_OfAHistoryCutBeforeItsLastCall_MakesTheRecordedCall(string file)
    {
        var history = Load(file);
        var last = history.FindLastIndex(e => e is TaskScheduledEvent or TimerCreatedEvent or SubOrchestrationInstanceCreatedEvent);
        if (last < 0)
        {
            Assert.Equal("guids", file);
            return;
        }

        var recorded = history[last];
        var actions = Replay(Orchestrator(history), history[..last]);

        var action = Assert.Single(actions, a => a.Id == recorded.EventId);
        switch (recorded)
        {
            case TaskScheduledEvent task:
                var schedule = Assert.IsType<ScheduleTaskOrchestratorAction>(action);
                Assert.Equal(task.Name, schedule.Name);
                Assert.Equal(task.Input, schedule.Input);
                break;
            case TimerCreatedEvent timer:
                Assert.Equal(timer.FireAt, Assert.IsType<CreateTimerOrchestratorAction>(action).FireAt);
                break;
            case SubOrchestrationInstanceCreatedEvent child:
                var create = Assert.IsType<CreateSubOrchestrationAction>(action);
                Assert.Equal(child.Name, create.Name);
                Assert.Equal(child.Input, create.Input);
                break;
        }
    }

    [Fact]
    public void Replay_WithChangedCode_FailsAsNonDeterministic_NamingTheRecordedCall()
    {
        var history = Load("hello-sequence");

        var actions = Replay(GoldenOrchestrations.ChangedHelloSequence, history);

        // DTFx fails the instance at the first call that differs from the history.
        var completion = Assert.IsType<OrchestrationCompleteOrchestratorAction>(actions[^1]);
        Assert.Equal(OrchestrationStatus.Failed, completion.OrchestrationStatus);
        Assert.Contains("NonDeterministic", completion.FailureDetails?.ErrorType, StringComparison.Ordinal);
        Assert.Contains(HelloSequence.SayHelloName, completion.FailureDetails?.ErrorMessage, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs every recorded orchestration on this build and replays each new history as the golden tests replay the
    /// recorded ones. With the environment variable <c>WORKFLOWS_RECORD_GOLDEN=1</c> it also writes them as the new
    /// golden files (replace one only when a change of the history format is meant: running instances keep the old).
    /// </summary>
    [Fact]
    public async Task TodaysRuns_ReplayToTheirResults_AndBecomeTheGoldenFilesWhenAskedTo()
    {
        var record = Environment.GetEnvironmentVariable("WORKFLOWS_RECORD_GOLDEN") == "1";
        var folder = Path.Combine(AppBuildOutput.RepositoryFolder, "tests", "Workflows.Functions.Tests", "Golden");
        await using var harness = await SdkHarness.StartAsync(Register);
        foreach (var (file, orchestrator, input, approval) in Recordings)
        {
            var id = "golden-" + file;
            await harness.Client.ScheduleNewOrchestrationInstanceAsync(orchestrator, input, new StartOrchestrationOptions(id));
            if (approval is not null)
            {
                await harness.Client.WaitForInstanceStartAsync(id, cancellation: SdkHarness.Timeout());
                await harness.Client.RaiseEventAsync(id, "Approval", approval);
            }

            var done = await harness.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, SdkHarness.Timeout());
            var history = (await harness.HistoryAsync(id)).ToList();
            var completion = Assert.IsType<OrchestrationCompleteOrchestratorAction>(Assert.Single(Replay(orchestrator, history)));

            Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal(done.SerializedOutput, completion.Result);
            if (record)
            {
                await File.WriteAllTextAsync(Path.Combine(folder, file + ".json"), Json.Serialize(history, formatted: true) + "\n");
            }
        }
    }

    private static void Register(DurableTaskRegistry registry) =>
        registry.AddWorkflowFunctions(dataRoot: TestStorage.Root).AddGoldenOrchestrations();

    private static List<HistoryEvent> Load(string file) =>
        Json.Deserialize<List<HistoryEvent>>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", file + ".json")));

    private static string Orchestrator(List<HistoryEvent> history) => history.OfType<ExecutionStartedEvent>().Single().Name;

    /// <summary>Runs <paramref name="orchestrator"/> over <paramref name="history"/> as DTFx's dispatcher would; the actions it decides.</summary>
    private static List<OrchestratorAction> Replay(string orchestrator, IList<HistoryEvent> history)
    {
        var registry = new DurableTaskRegistry();
        Register(registry);
        var factory = registry.GetOrchestrators().Single(o => o.Key.Name == orchestrator).Value;
        var shims = new DurableTaskShimFactory(new DurableTaskWorkerOptions { DataConverter = WebJsonDataConverter.Instance }, NullLoggerFactory.Instance);
        var orchestration = shims.CreateOrchestration(orchestrator, factory(NoServices.Instance), parent: null);
        var state = new Dt.OrchestrationRuntimeState([.. history]);
        var executor = new TaskOrchestrationExecutor(state, orchestration, BehaviorOnContinueAsNew.Carryover, ErrorPropagationMode.UseFailureDetails);
        return [.. executor.Execute().Actions];
    }
}
