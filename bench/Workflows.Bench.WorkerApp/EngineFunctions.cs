using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace Workflows.Bench.WorkerApp;

/// <summary>The engine benchmark's orchestrators, as the in-process run registers them: a fan-out/fan-in and a sequence of no-op activities.</summary>
public static class EngineFunctions
{
    /// <summary>Calls <see cref="Noop"/> N times at once and returns how many answered.</summary>
    [Function("FanOut")]
    public static async Task<int> FanOut([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int n = context.GetInput<int>();
        var tasks = new Task<int>[n];
        for (int i = 0; i < n; i++)
        {
            tasks[i] = context.CallActivityAsync<int>("Noop", i);
        }

        int[] results = await Task.WhenAll(tasks);
        return results.Length;
    }

    /// <summary>Calls <see cref="Noop"/> N times one after the other and returns the sum of its answers.</summary>
    [Function("Sequence")]
    public static async Task<int> Sequence([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int n = context.GetInput<int>();
        int done = 0;
        for (int i = 0; i < n; i++)
        {
            done += await context.CallActivityAsync<int>("Noop", 1);
        }

        return done;
    }

    /// <summary>Returns its input.</summary>
    [Function("Noop")]
    public static int Noop([ActivityTrigger] int input) => input;
}
