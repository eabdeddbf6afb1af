using Workflows.Durable;
using Workflows.Functions.Samples;

namespace Workflows.Functions;

/// <summary>Every orchestrator and activity of the function app.</summary>
public static class FunctionRegistrations
{
    /// <summary>Adds the app's functions to <paramref name="registry"/>.</summary>
    public static DurableTaskRegistry AddWorkflowFunctions(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .AddOrchestrator(HelloSequenceOrchestrator.Name, static () => new HelloSequenceOrchestrator())
            .AddOrchestrator(FanOutFanInOrchestrator.Name, static () => new FanOutFanInOrchestrator())
            .AddActivity(SayHelloActivity.Name, static () => new SayHelloActivity())
            .AddActivity(SquareActivity.Name, static () => new SquareActivity());
    }
}
