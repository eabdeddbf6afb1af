using Workflows.Durable;

namespace Workflows.Functions.Samples;

/// <summary>Greets a city: the activity of the HelloSequence sample.</summary>
public sealed class SayHelloActivity : TaskActivity<string, string>
{
    /// <summary>Registered name.</summary>
    public const string Name = "SayHello";

    public override Task<string> RunAsync(TaskActivityContext context, string input) => Task.FromResult($"Hello {input}!");
}
