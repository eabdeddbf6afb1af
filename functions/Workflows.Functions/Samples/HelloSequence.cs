using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Functions.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;

namespace Workflows.Functions.Samples;

/// <summary>
/// The smallest durable sequence: greets the input city, then Seattle and London, one activity after another,
/// and returns the greetings.
/// </summary>
public static class HelloSequence
{
    /// <summary>Orchestrator name.</summary>
    public const string Name = "HelloSequence";

    /// <summary>Activity name.</summary>
    public const string SayHelloName = "SayHello";

    [Function(Name)]
    public static async Task<List<string>> RunOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<string?>();
        var logger = context.CreateReplaySafeLogger(typeof(HelloSequence).FullName!);
        var greetings = new List<string>();
        foreach (var city in new[] { string.IsNullOrWhiteSpace(input) ? "Tokyo" : input, "Seattle", "London" })
        {
            logger.LogInformation("Greeting {City}", city);
            greetings.Add(await context.CallActivityAsync<string>(SayHelloName, city));
        }

        return greetings;
    }

    [Function(SayHelloName)]
    public static string SayHello([ActivityTrigger] string city, FunctionContext executionContext)
    {
        ArgumentNullException.ThrowIfNull(executionContext);
        var logger = executionContext.GetLogger(SayHelloName);
        logger.LogInformation("Saying hello to {City}.", city);
        return $"Hello {city}!";
    }

    /// <summary>Typed starter: <c>POST /api/hello/{city}</c> answers 202 with the check-status links.</summary>
    [Function("HelloSequence_HttpStart")]
    public static Task<HttpResponseData> HttpStart(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "hello/{city?}")] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        FunctionContext executionContext,
        string? city) =>
        HttpStarter.StartAsync(client, executionContext, Name, city);
}
