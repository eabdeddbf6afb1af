using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Workflows.Durable.Conformance;
using Xunit;

namespace Workflows.Durable.Tests;

public sealed class OrchestratorContextTests
{
    [Fact]
    public async Task ReplaySafeLogger_WritesEachLineOnce_EvenWhenEveryEpisodeReplays()
    {
        var logs = new RecordingLoggerFactory();
        var replayFlags = new ConcurrentQueue<bool>();
        var registry = new DurableTaskRegistry();
        registry
            .AddActivityFunc<string, string>("SayHello", (_, city) => $"Hello {city}!")
            .AddOrchestratorFunc<string?, string>("Chatty", async (context, _) =>
            {
                var logger = context.CreateReplaySafeLogger("Chatty");
                foreach (var city in new[] { "Oslo", "Lima", "Pune" })
                {
                    replayFlags.Enqueue(context.IsReplaying);
                    logger.LogInformation("calling {City}", city);
                    await context.CallActivityAsync<string>("SayHello", city);
                }

                logger.LogInformation("done");
                return "ok";
            });
        var provider = new Durable.InMemory.InMemoryStorageProvider();
        await using var harness = await WorkerHarness.StartAsync(provider, r => Copy(registry, r), EngineFixture.NoCache(), loggerFactory: logs);

        var result = await harness.RunAsync("Chatty");

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(["calling Oslo", "calling Lima", "calling Pune", "done"], logs.Messages("Chatty"));
        Assert.Contains(true, replayFlags);
        Assert.Equal(3, replayFlags.Count(flag => !flag));
    }

    [Fact]
    public async Task AwaitingANonDurableTask_WhileOthersArePending_FailsAtTheNextEpisode()
    {
        var outside = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddOrchestratorFunc<string?, int>("AwaitsOutside", async (context, _) =>
            {
                var next = context.WaitForExternalEvent<int>("Next");
                context.SetCustomStatus("awaiting");
                var value = await outside.Task;
                return value + await next;
            }));
        var id = await engine.Client.ScheduleNewOrchestrationInstanceAsync("AwaitsOutside");
        await engine.Harness.WaitAsync(id, m => m.SerializedCustomStatus == "\"awaiting\"");

        // The continuation now arrives from a foreign thread, outside any episode; the next episode notices.
        await Task.Run(() => outside.SetResult(1));
        await engine.Client.RaiseEventAsync(id, "Next", 2);

        var result = await engine.Client.WaitForInstanceCompletionAsync(id, true, WorkerHarness.Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("awaited a task that is not durable", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AwaitingOnlyANonDurableTask_FailsAtOnce_InsteadOfHanging(bool extendedSessions)
    {
        await using var engine = await EngineFixture.StartAsync(
            registry => registry.AddOrchestratorFunc<string?, int>("Sleeps", async (_, _) =>
            {
                await Task.Delay(10);
                return 1;
            }),
            extendedSessions ? null : EngineFixture.NoCache());

        var result = await engine.Harness.RunAsync("Sleeps");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("awaited a task that is not durable", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadOrchestrationInput_FailsWithReadableReason()
    {
        await using var engine = await EngineFixture.StartAsync(TestOrchestrations.RegisterAll);

        var result = await engine.Harness.RunAsync("FanOutFanIn", "not a number");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("could not be read as Int32", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Activity_SeesStableIdempotencyKey_AndInstanceId()
    {
        var keys = new ConcurrentBag<string>();
        await using var engine = await EngineFixture.StartAsync(registry => registry
            .AddActivityFunc<int, string>("Keyed", (context, _) =>
            {
                keys.Add(context.IdempotencyKey);
                return context.InstanceId;
            })
            .AddOrchestratorFunc<string?, string>("UsesKeys", async (context, _) =>
            {
                await context.CallActivityAsync<string>("Keyed", 1);
                return await context.CallActivityAsync<string>("Keyed", 2);
            }));

        var result = await engine.Harness.RunAsync("UsesKeys", instanceId: "keyed-1");

        Assert.Equal("keyed-1", result.ReadOutputAs<string>());
        Assert.Equal([$"keyed-1/{result.ExecutionId}/0", $"keyed-1/{result.ExecutionId}/1"], keys.Order(StringComparer.Ordinal));
    }

    private static void Copy(DurableTaskRegistry from, DurableTaskRegistry to)
    {
        foreach (var name in from.OrchestratorNames)
        {
            to.AddOrchestrator(name, () => from.TryCreateOrchestrator(name, out var o) ? o! : throw new InvalidOperationException());
        }

        foreach (var name in from.ActivityNames)
        {
            to.AddActivity(name, () => from.TryCreateActivity(name, out var a) ? a! : throw new InvalidOperationException());
        }
    }

    /// <summary>Keeps every formatted log message per category.</summary>
    private sealed class RecordingLoggerFactory : ILoggerFactory
    {
        private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _messages = new();

        public IReadOnlyList<string> Messages(string category) => _messages.TryGetValue(category, out var queue) ? [.. queue] : [];

        public ILogger CreateLogger(string categoryName) => new Recorder(_messages.GetOrAdd(categoryName, _ => new ConcurrentQueue<string>()));

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Recorder(ConcurrentQueue<string> sink) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                sink.Enqueue(formatter(state, exception));
        }
    }
}
