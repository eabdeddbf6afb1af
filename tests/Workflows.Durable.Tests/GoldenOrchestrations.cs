using Workflows.Durable.Conformance;

namespace Workflows.Durable.Tests;

/// <summary>The orchestrators whose recorded histories live in Golden/*.json.</summary>
internal static class GoldenOrchestrations
{
    public static void Register(DurableTaskRegistry registry)
    {
        TestOrchestrations.RegisterAll(registry);
        registry
            .AddOrchestratorFunc<string?, string>("EventOrTimeout", async (context, _) =>
            {
                try
                {
                    return "got " + await context.WaitForExternalEvent<string>("Data", TimeSpan.FromMinutes(10));
                }
                catch (TaskCanceledException)
                {
                    return "timeout";
                }
            })
            .AddOrchestratorFunc<string?, string[]>("Guids", (context, _) =>
                Task.FromResult(new[] { context.NewGuid().ToString(), context.NewGuid().ToString(), context.NewGuid().ToString() }));
    }
}
