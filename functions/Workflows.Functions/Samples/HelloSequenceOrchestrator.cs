using Microsoft.Extensions.Logging;
using Workflows.Durable;

namespace Workflows.Functions.Samples;

/// <summary>
/// Calls <see cref="SayHelloActivity"/> for three cities one after another (the input city first) and returns
/// the greetings: the smallest durable sequence.
/// </summary>
public sealed class HelloSequenceOrchestrator : TaskOrchestrator<string?, List<string>>
{
    /// <summary>Registered name.</summary>
    public const string Name = "HelloSequence";

    public override async Task<List<string>> RunAsync(TaskOrchestrationContext context, string? input)
    {
        ArgumentNullException.ThrowIfNull(context);
        var logger = context.CreateReplaySafeLogger<HelloSequenceOrchestrator>();
        var greetings = new List<string>();
        foreach (var city in new[] { string.IsNullOrWhiteSpace(input) ? "Tokyo" : input, "Seattle", "London" })
        {
            logger.LogInformation("Greeting {City}", city);
            greetings.Add(await context.CallActivityAsync<string>(SayHelloActivity.Name, city));
        }

        return greetings;
    }
}
