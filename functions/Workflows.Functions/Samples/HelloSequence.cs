using Microsoft.Extensions.Logging;
using Workflows.Durable;
using Workflows.Host;

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
        var input = context.GetInput<string>();
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
    public static string SayHello([ActivityTrigger] string city) => $"Hello {city}!";
}
