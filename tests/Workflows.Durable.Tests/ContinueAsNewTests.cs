using Workflows.Durable.Conformance;
using Workflows.Durable.History;
using Xunit;

namespace Workflows.Durable.Tests;

public sealed class ContinueAsNewTests
{
    [Fact]
    public async Task EternalOrchestration_KeepsHistoryBounded_AcrossManyGenerations()
    {
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddActivityFunc<int, int>("Work", (_, n) => n)
            .AddOrchestratorFunc<int, int>("Eternal", async (context, generation) =>
            {
                await context.CallActivityAsync<int>("Work", generation);
                context.SetCustomStatus(generation);
                await context.CreateTimer(TimeSpan.FromHours(1), CancellationToken.None);
                context.ContinueAsNew(generation + 1);
                return generation;
            }));
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Eternal", 0);

        var largest = 0;
        for (var generation = 0; generation < 25; generation++)
        {
            var history = await engine.WaitForHistoryAsync(id, h =>
                h.OfType<ExecutionStarted>().SingleOrDefault()?.Input == generation.ToString(System.Globalization.CultureInfo.InvariantCulture)
                && h.OfType<TimerCreated>().Any());
            largest = Math.Max(largest, history.Count);
            engine.Clock.Advance(TimeSpan.FromHours(1));
        }

        Assert.True(largest <= 10, $"one generation's history must stay small; the largest had {largest} events");
        await engine.WaitForHistoryAsync(id, h => h.OfType<ExecutionStarted>().SingleOrDefault()?.Input == "25");
        await engine.Client.TerminateInstanceAsync(id, "enough");
        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, result.RuntimeStatus);
        Assert.Equal("25", result.SerializedInput);
    }

    [Fact]
    public async Task ContinueAsNew_CarriesOverUnprocessedEvents()
    {
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddOrchestratorFunc<int, string>("TwoPhase", async (context, phase) =>
            {
                if (phase == 0)
                {
                    context.SetCustomStatus("waiting for A");
                    await context.WaitForExternalEvent<string>("A");
                    context.ContinueAsNew(1, preserveUnprocessedEvents: true);
                    return "continued";
                }

                return "phase 1 got " + await context.WaitForExternalEvent<string>("B");
            }));
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("TwoPhase", 0);
        await engine.Harness.WaitAsync(id, m => m.SerializedCustomStatus == "\"waiting for A\"");
        await engine.Client.RaiseEventAsync(id, "B", "early bird");
        await engine.WaitForHistoryAsync(id, h => h.OfType<EventRaised>().Any(e => e.Name == "B"));

        await engine.Client.RaiseEventAsync(id, "A", "go");

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal("phase 1 got early bird", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task ContinueAsNew_WithoutEverAwaiting_FailsWithAReadableReason()
    {
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddOrchestratorFunc<int, int>("Spin", (context, n) =>
            {
                context.ContinueAsNew(n + 1);
                return Task.FromResult(n);
            }));
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("Spin", 0);

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("called ContinueAsNew 10,000 times in a row without awaiting anything", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal("10000", result.SerializedInput);
    }
}
