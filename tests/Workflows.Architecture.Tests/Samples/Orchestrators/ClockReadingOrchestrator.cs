using Microsoft.DurableTask;

namespace Workflows.Architecture.Tests.Samples.Orchestrators;

/// <summary>Deliberately non-deterministic: reads the wall clock through a helper after an await.</summary>
internal sealed class ClockReadingOrchestrator : TaskOrchestrator<string, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, string input)
    {
        var greeting = await context.CallActivityAsync<string>("Greet", input);
        return greeting + Stamp();
    }

    private static string Stamp() => DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
}
