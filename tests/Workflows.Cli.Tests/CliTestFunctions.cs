using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Host.Functions;

namespace Workflows.Cli.Tests;

/// <summary>Orchestrations the CLI tests add to the sample app: progress in customStatus, a wait for an event, a failure.</summary>
public static class CliTestFunctions
{
    private static readonly ConcurrentDictionary<string, int> FlakyAttempts = new(StringComparer.Ordinal);

    /// <summary>Runs <c>total</c> steps (the input), reporting <c>{ done, total }</c> in customStatus after each.</summary>
    [Function("ProgressSteps")]
    public static async Task<int> ProgressSteps([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var total = context.GetInput<int>();
        context.SetCustomStatus(new { phase = "stepping", done = 0, total });
        for (var done = 1; done <= total; done++)
        {
            await context.CallActivityAsync<int>("Step", done);
            context.SetCustomStatus(new { phase = "stepping", done, total });
        }

        return total;
    }

    [Function("Step")]
    public static int Step([ActivityTrigger] int step) => step;

    [Function("WaitForApproval")]
    public static async Task<string> WaitForApproval([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        context.SetCustomStatus("waiting for approval");
        var approver = await context.WaitForExternalEvent<string>("Approval");
        return $"approved by {approver}";
    }

    /// <summary>Fails on its first attempt per instance, so a rewind completes it.</summary>
    [Function("FailsOnce")]
    public static Task<string> FailsOnce([OrchestrationTrigger] TaskOrchestrationContext context) =>
        context.CallActivityAsync<string>("FlakyStep", context.InstanceId);

    [Function("FlakyStep")]
    public static string FlakyStep([ActivityTrigger] string key) =>
        FlakyAttempts.AddOrUpdate(key, 1, static (_, n) => n + 1) == 1 ? throw new InvalidOperationException("first attempt fails") : "recovered";
}
