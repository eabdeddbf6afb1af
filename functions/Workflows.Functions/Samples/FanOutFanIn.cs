using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Functions.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;

namespace Workflows.Functions.Samples;

/// <summary>
/// The smallest fan-out/fan-in: squares 0..count-1 in parallel activities and sums the squares. Squares and the sum
/// are 64-bit: a square of up to <see cref="MaxCount"/> and the sum of all of them fit exactly.
/// </summary>
public static class FanOutFanIn
{
    /// <summary>Orchestrator name.</summary>
    public const string Name = "FanOutFanIn";

    /// <summary>Activity name.</summary>
    public const string SquareName = "Square";

    /// <summary>Largest accepted count; bigger fan-outs belong in sub-orchestrations.</summary>
    public const int MaxCount = 100_000;

    [Function(Name)]
    public static async Task<long> RunOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var count = context.GetInput<int>();
        if (count is < 0 or > MaxCount)
        {
            throw new ArgumentException($"count must be between 0 and {MaxCount} (was {count}).");
        }

        var work = new Task<long>[count];
        for (var i = 0; i < count; i++)
        {
            work[i] = context.CallActivityAsync<long>(SquareName, i);
        }

        context.SetCustomStatus(new { scheduled = count });
        var results = await Task.WhenAll(work);
        long sum = 0;
        foreach (var result in results)
        {
            sum += result;
        }

        return sum;
    }

    [Function(SquareName)]
    public static long Square([ActivityTrigger] int value) => (long)value * value;

    /// <summary>Typed starter: <c>POST /api/fanout/{count}</c> answers 202 with the check-status links.</summary>
    [Function("FanOutFanIn_HttpStart")]
    public static Task<HttpResponseData> HttpStart(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "fanout/{count:int}")] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        FunctionContext executionContext,
        int count) =>
        HttpStarter.StartAsync(client, executionContext, Name, count);
}
