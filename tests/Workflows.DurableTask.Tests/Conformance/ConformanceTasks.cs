using System.Collections.Concurrent;
using Microsoft.DurableTask;

namespace Workflows.DurableTask.Tests.Conformance;

/// <summary>The orchestrators and activities the conformance suite runs, written with the official SDK.</summary>
public static class ConformanceTasks
{
    public static readonly ConcurrentDictionary<string, int> FlakyAttempts = new(StringComparer.Ordinal);

    public static void Register(DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.AddOrchestrator<HelloSequence>();
        registry.AddOrchestrator<FanOutFanIn>();
        registry.AddOrchestrator<ParentOrchestrator>();
        registry.AddOrchestrator<ChildOrchestrator>();
        registry.AddOrchestrator<DurableTimer>();
        registry.AddOrchestrator<AwaitApproval>();
        registry.AddOrchestrator<Counter>();
        registry.AddOrchestrator<Accumulate>();
        registry.AddOrchestrator<CatchActivityFailure>();
        registry.AddOrchestrator<UncaughtActivityFailure>();
        registry.AddOrchestrator<RetryFlaky>();
        registry.AddOrchestrator<CallFlaky>();
        registry.AddOrchestrator<CallFlakyChild>();
        registry.AddOrchestrator<CallMissingActivity>();
        registry.AddOrchestrator<TypedInput>();
        registry.AddActivity<SayHello>();
        registry.AddActivity<Square>();
        registry.AddActivity<Explode>();
        registry.AddActivity<Flaky>();
    }

    public sealed class HelloSequence : TaskOrchestrator<object?, List<string>>
    {
        public override async Task<List<string>> RunAsync(TaskOrchestrationContext context, object? input) =>
        [
            await context.CallActivityAsync<string>(nameof(SayHello), "Tokyo"),
            await context.CallActivityAsync<string>(nameof(SayHello), "Seattle"),
            await context.CallActivityAsync<string>(nameof(SayHello), "London"),
        ];
    }

    public sealed class FanOutFanIn : TaskOrchestrator<int, long>
    {
        public override async Task<long> RunAsync(TaskOrchestrationContext context, int input)
        {
            var tasks = new List<Task<long>>(input);
            for (int i = 1; i <= input; i++)
            {
                tasks.Add(context.CallActivityAsync<long>(nameof(Square), i));
            }

            long[] squares = await Task.WhenAll(tasks);
            return squares.Sum();
        }
    }

    public sealed class ParentOrchestrator : TaskOrchestrator<int, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, int input) =>
            context.CallSubOrchestratorAsync<string>(
                nameof(ChildOrchestrator),
                input,
                new SubOrchestrationOptions { InstanceId = context.InstanceId + ":child" });
    }

    public sealed class ChildOrchestrator : TaskOrchestrator<int, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, int input)
        {
            long square = await context.CallActivityAsync<long>(nameof(Square), input);
            return $"{context.Parent?.Name}/{context.Parent?.InstanceId}:{square}";
        }
    }

    /// <summary>Waits a durable timer of the input's milliseconds.</summary>
    public sealed class DurableTimer : TaskOrchestrator<int, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, int input)
        {
            context.SetCustomStatus("waiting");
            await context.CreateTimer(TimeSpan.FromMilliseconds(input), CancellationToken.None);
            return "fired";
        }
    }

    public sealed class AwaitApproval : TaskOrchestrator<object?, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
        {
            context.SetCustomStatus("waiting");
            string approver = await context.WaitForExternalEvent<string>("approval");
            return $"approved by {approver}";
        }
    }

    public sealed class Counter : TaskOrchestrator<int, int>
    {
        public override Task<int> RunAsync(TaskOrchestrationContext context, int input)
        {
            if (input < 5)
            {
                context.ContinueAsNew(input + 1);
                return Task.FromResult(-1);
            }

            return Task.FromResult(input);
        }
    }

    /// <summary>Adds one "add" event per execution and continues as new, keeping the events not yet processed.</summary>
    public sealed class Accumulate : TaskOrchestrator<int[], int[]>
    {
        public override async Task<int[]> RunAsync(TaskOrchestrationContext context, int[] input)
        {
            if (input.Length == 0)
            {
                context.SetCustomStatus("waiting");
            }

            int value = await context.WaitForExternalEvent<int>("add");
            int[] seen = [.. input, value];
            if (seen.Length < 3)
            {
                context.ContinueAsNew(seen, preserveUnprocessedEvents: true);
            }

            return seen;
        }
    }

    public sealed class CatchActivityFailure : TaskOrchestrator<object?, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
        {
            try
            {
                await context.CallActivityAsync(nameof(Explode), "boom");
                return "no failure";
            }
            catch (TaskFailedException e)
            {
                return $"{e.TaskName}|{e.FailureDetails.ErrorType}|{e.FailureDetails.ErrorMessage}|{e.FailureDetails.IsCausedBy<InvalidOperationException>()}";
            }
        }
    }

    public sealed class UncaughtActivityFailure : TaskOrchestrator<object?, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
        {
            await context.CallActivityAsync(nameof(Explode), "kaboom");
            return "unreachable";
        }
    }

    public sealed class RetryFlaky : TaskOrchestrator<string, int>
    {
        public override Task<int> RunAsync(TaskOrchestrationContext context, string input) =>
            context.CallActivityAsync<int>(
                nameof(Flaky),
                input,
                TaskOptions.FromRetryPolicy(new RetryPolicy(maxNumberOfAttempts: 5, firstRetryInterval: TimeSpan.FromMilliseconds(50))));
    }

    /// <summary>Calls <see cref="Flaky"/> once, without retries: fails on the first two attempts of its key.</summary>
    public sealed class CallFlaky : TaskOrchestrator<string, int>
    {
        public override Task<int> RunAsync(TaskOrchestrationContext context, string input) =>
            context.CallActivityAsync<int>(nameof(Flaky), input);
    }

    /// <summary>Runs <see cref="CallFlaky"/> as a sub-orchestration (instance id: the key with <c>-child</c>).</summary>
    public sealed class CallFlakyChild : TaskOrchestrator<string, int>
    {
        public override Task<int> RunAsync(TaskOrchestrationContext context, string input) =>
            context.CallSubOrchestratorAsync<int>(nameof(CallFlaky), input, new SubOrchestrationOptions { InstanceId = input + "-child" });
    }

    public sealed class CallMissingActivity : TaskOrchestrator<object?, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, object? input) =>
            context.CallActivityAsync<string>("NoSuchActivity", "x");
    }

    public sealed record Order(string Item, int Quantity);

    public sealed class TypedInput : TaskOrchestrator<Order, int>
    {
        public override Task<int> RunAsync(TaskOrchestrationContext context, Order input) => Task.FromResult(input.Quantity);
    }

    public sealed class SayHello : TaskActivity<string, string>
    {
        public override Task<string> RunAsync(TaskActivityContext context, string input) => Task.FromResult($"Hello {input}!");
    }

    public sealed class Square : TaskActivity<int, long>
    {
        public override Task<long> RunAsync(TaskActivityContext context, int input) => Task.FromResult((long)input * input);
    }

    public sealed class Explode : TaskActivity<string, string>
    {
        public override Task<string> RunAsync(TaskActivityContext context, string input) => throw new InvalidOperationException(input);
    }

    /// <summary>Fails its first two attempts for a key, then returns the attempt number.</summary>
    public sealed class Flaky : TaskActivity<string, int>
    {
        public override Task<int> RunAsync(TaskActivityContext context, string input)
        {
            int attempt = FlakyAttempts.AddOrUpdate(input, 1, (_, n) => n + 1);
            return attempt < 3 ? throw new InvalidOperationException($"attempt {attempt} fails") : Task.FromResult(attempt);
        }
    }
}
