using Workflows.Durable;

namespace Workflows.Functions.Samples;

/// <summary>Fans out <c>count</c> activities in parallel and sums their results: the smallest fan-out/fan-in.</summary>
public sealed class FanOutFanInOrchestrator : TaskOrchestrator<int, long>
{
    /// <summary>Registered name.</summary>
    public const string Name = "FanOutFanIn";

    /// <summary>Largest accepted count; bigger fan-outs belong in sub-orchestrations.</summary>
    public const int MaxCount = 100_000;

    public override async Task<long> RunAsync(TaskOrchestrationContext context, int input)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (input is < 0 or > MaxCount)
        {
            throw new ArgumentOutOfRangeException(nameof(input), input, $"count must be between 0 and {MaxCount}.");
        }

        var work = new Task<int>[input];
        for (var i = 0; i < input; i++)
        {
            work[i] = context.CallActivityAsync<int>(SquareActivity.Name, i);
        }

        context.SetCustomStatus(new { scheduled = input });
        var results = await Task.WhenAll(work);
        long sum = 0;
        foreach (var result in results)
        {
            sum += result;
        }

        return sum;
    }
}

/// <summary>Squares its input: the activity of the FanOutFanIn sample.</summary>
public sealed class SquareActivity : TaskActivity<int, int>
{
    /// <summary>Registered name.</summary>
    public const string Name = "Square";

    public override Task<int> RunAsync(TaskActivityContext context, int input) => Task.FromResult(input * input);
}
