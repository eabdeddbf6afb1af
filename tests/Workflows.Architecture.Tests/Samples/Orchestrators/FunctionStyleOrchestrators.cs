using Microsoft.DurableTask;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Architecture.Tests.Samples.Orchestrators;

/// <summary>A function-style orchestrator that makes an id in a lambda, and one that only uses its context.</summary>
internal static class FunctionStyleOrchestrators
{
    public static Task<string[]> NewIds([OrchestrationTrigger] TaskOrchestrationContext context) =>
        Task.WhenAll(Enumerable.Range(0, 2).Select(_ => context.CallActivityAsync<string>("Echo", Guid.NewGuid())));

    public static async Task<string> Deterministic([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var id = context.NewGuid();
        await context.CreateTimer(context.CurrentUtcDateTime.AddMinutes(1), CancellationToken.None);
        return id.ToString();
    }

    /// <summary>Not orchestrator code: activities may do I/O.</summary>
    public static string ReadFile([ActivityTrigger] string path) => File.ReadAllText(path);
}
