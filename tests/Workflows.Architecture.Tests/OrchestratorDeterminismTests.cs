using System.Reflection;
using Xunit;

namespace Workflows.Architecture.Tests;

/// <summary>Orchestrator code uses none of the banned APIs (docs/engine.md, determinism).</summary>
public sealed class OrchestratorDeterminismTests
{
    [Fact]
    public void FunctionApp_Orchestrators_UseNoBannedApi()
    {
        var app = Assembly.Load(new AssemblyName("Workflows.Functions"));

        // Both shapes are found: TaskOrchestrator<,> classes and [OrchestrationTrigger] function methods.
        var names = OrchestratorDeterminism.Orchestrators(app).Select(o => o.Name).ToList();
        Assert.Contains(typeof(Workflows.Functions.Statistics.ChunkedStatisticsOrchestrator).FullName, names);
        Assert.Contains($"{typeof(Workflows.Functions.Samples.FanOutFanIn).FullName}.RunOrchestrator", names);
        Assert.Contains(typeof(Workflows.Functions.Canary.CanaryPromotionOrchestrator).FullName, names);
        Assert.Contains(typeof(Workflows.Functions.Retraining.RetrainingPipelineOrchestrator).FullName, names);
        var violations = OrchestratorDeterminism.Violations(app);
        Assert.True(violations.Count == 0, "Orchestrator code uses banned APIs:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void Violations_DeliberatelyNonDeterministicSamples_AreNamedWithWhereTheyAre()
    {
        var violations = OrchestratorDeterminism.Violations(typeof(OrchestratorDeterminismTests).Assembly);

        // The activity's file read and the deterministic orchestrator are not named; the lambda's name is the compiler's.
        Assert.Collection(
            violations,
            clock => Assert.Equal($"{typeof(Samples.Orchestrators.ClockReadingOrchestrator).FullName}: ClockReadingOrchestrator.Stamp uses System.DateTime.get_UtcNow", clock),
            id =>
            {
                Assert.StartsWith($"{typeof(Samples.Orchestrators.FunctionStyleOrchestrators).FullName}.NewIds: FunctionStyleOrchestrators.", id, StringComparison.Ordinal);
                Assert.EndsWith(" uses System.Guid.NewGuid", id, StringComparison.Ordinal);
            });
    }
}
