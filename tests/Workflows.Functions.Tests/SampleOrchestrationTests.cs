using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Functions.Samples;
using Workflows.Testing;
using Xunit;

namespace Workflows.Functions.Tests;

public sealed class SampleOrchestrationTests
{
    [Fact]
    public async Task HelloSequence_GreetsInputCityThenSeattleAndLondon()
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(dataRoot: TestStorage.Root));

        var result = await harness.RunAsync(HelloSequence.Name, "Lisbon");

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(["Hello Lisbon!", "Hello Seattle!", "Hello London!"], result.ReadOutputAs<string[]>()!);
    }

    [Fact]
    public async Task FanOutFanIn_SumsSquares()
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(dataRoot: TestStorage.Root));

        var result = await harness.RunAsync(FanOutFanIn.Name, 500);

        Assert.Equal(Enumerable.Range(0, 500).Sum(i => (long)i * i), result.ReadOutputAs<long>());
    }

    [Fact]
    public async Task FanOutFanIn_PastTheSumsThatFit32Bits_SumsExactlyIn64Bits()
    {
        // The sum of i² for i < 3,000 is about 9·10⁹, past 2³² − 1. (The widest fan-out, MaxCount, is not run here: DTFx's
        // dispatcher scans the whole history for each completed activity, so a fan-out's cost grows with the square of
        // its width; the square of the largest index is checked directly below.)
        const long n = 3_000;
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(dataRoot: TestStorage.Root));

        var result = await harness.RunAsync(FanOutFanIn.Name, (int)n);

        // Sum of i² for i < n is (n − 1) n (2n − 1) / 6.
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal((n - 1) * n * ((2 * n) - 1) / 6, result.ReadOutputAs<long>());
        Assert.True(result.ReadOutputAs<long>() > uint.MaxValue);
        Assert.Equal(99_999L * 99_999L, FanOutFanIn.Square(FanOutFanIn.MaxCount - 1));
    }

    [Fact]
    public async Task FanOutFanIn_WithNegativeCount_FailsWithReadableReason()
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(dataRoot: TestStorage.Root));

        var result = await harness.RunAsync(FanOutFanIn.Name, -1);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("count must be between 0 and 100000", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PurgeHistory_RemovesFinishedInstancesOlderThanTheRetentionOnly()
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(dataRoot: TestStorage.Root));
        var finished = await harness.RunAsync(HelloSequence.Name, "Lisbon");

        var clock = new FakeTimeProvider(finished.CreatedAt + PurgeHistory.Retention - TimeSpan.FromMinutes(1));
        var purge = new PurgeHistory(clock, NullLogger<PurgeHistory>.Instance);

        var tooEarly = await purge.Run(new TimerInfo(), harness.Client, CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(2));
        var due = await purge.Run(new TimerInfo(), harness.Client, CancellationToken.None);

        Assert.Equal(0, tooEarly);
        Assert.Equal(1, due);
        Assert.Null(await harness.Client.GetInstanceAsync(finished.InstanceId));
    }
}
