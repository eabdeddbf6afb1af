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
        registry.AddOrchestrator<SendApproval>();
        registry.AddOrchestrator<RetryUnreliable>();
        registry.AddOrchestrator<EventOrTimeout>();
        registry.AddOrchestrator<CancelledTimer>();
        registry.AddOrchestrator<BufferedItems>();
        registry.AddOrchestrator<WorkingCounter>();
        registry.AddOrchestrator<ParentOfWaiters>();
        registry.AddOrchestrator<AwaitFlag>();
        registry.AddOrchestrator<UnserializableOutput>();
        registry.AddOrchestrator<CallUnbuildable>();
        registry.AddOrchestrator<ReplayProbe>();
        registry.AddActivity<Unreliable>();
        registry.AddActivity<WhoAmI>();
        registry.AddActivity(
            new TaskName(UnbuildableActivity),
            ITaskActivity (IServiceProvider _) => throw new InvalidOperationException("dependency missing"));
    }

    /// <summary>An activity whose factory throws, as one with a missing constructor dependency does.</summary>
    public const string UnbuildableActivity = "Unbuildable";

    /// <summary>What <see cref="ReplayProbe"/> saw at each step of each run of its code, by instance id.</summary>
    public static readonly ConcurrentDictionary<string, ConcurrentQueue<ProbeRecord>> ProbeRecords = new(StringComparer.Ordinal);

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
                await context.CallActivityAsync<string>(nameof(Explode), "boom");
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
            await context.CallActivityAsync<string>(nameof(Explode), "kaboom");
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

    /// <summary>Sends the "approval" event to the instance named by the input, from an orchestration.</summary>
    public sealed class SendApproval : TaskOrchestrator<string, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, string input)
        {
            context.SendEvent(input, "approval", context.InstanceId);
            return Task.FromResult("sent");
        }
    }

    /// <summary>How <see cref="RetryUnreliable"/> retries <see cref="Unreliable"/>, which fails <paramref name="Failures"/> times.</summary>
    public sealed record RetryCase(
        string Key,
        int Failures,
        int MaxAttempts,
        int FirstIntervalMs,
        double Coefficient = 1,
        int? MaxIntervalMs = null,
        int? RetryTimeoutMs = null,
        bool RetryOnlyTimeouts = false);

    /// <summary>Calls <see cref="Unreliable"/> under the retry policy the input describes; returns the attempt that succeeded.</summary>
    public sealed class RetryUnreliable : TaskOrchestrator<RetryCase, int>
    {
        public override Task<int> RunAsync(TaskOrchestrationContext context, RetryCase input)
        {
            var policy = new RetryPolicy(
                input.MaxAttempts,
                TimeSpan.FromMilliseconds(input.FirstIntervalMs),
                input.Coefficient,
                input.MaxIntervalMs is { } max ? TimeSpan.FromMilliseconds(max) : null,
                input.RetryTimeoutMs is { } timeout ? TimeSpan.FromMilliseconds(timeout) : null);
            if (input.RetryOnlyTimeouts)
            {
                policy = new RetryPolicy(policy.MaxNumberOfAttempts, policy.FirstRetryInterval) { HandleFailure = failure => failure.IsCausedBy<TimeoutException>() };
            }

            return context.CallActivityAsync<int>(nameof(Unreliable), new UnreliableInput(input.Key, input.Failures), TaskOptions.FromRetryPolicy(policy));
        }
    }

    /// <summary>Waits for the "data" event at most the input's milliseconds.</summary>
    public sealed class EventOrTimeout : TaskOrchestrator<int, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, int input)
        {
            context.SetCustomStatus("waiting");
            try
            {
                return "got " + await context.WaitForExternalEvent<int>("data", TimeSpan.FromMilliseconds(input));
            }
            catch (TaskCanceledException)
            {
                return "timed out";
            }
        }
    }

    /// <summary>Cancels an hour-long durable timer before awaiting it.</summary>
    public sealed class CancelledTimer : TaskOrchestrator<object?, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
        {
            using var cancellation = new CancellationTokenSource();
            Task timer = context.CreateTimer(TimeSpan.FromHours(1), cancellation.Token);
            // Cancelled inline: CancelAsync would run the timer's cancellation on another thread, outside the episode.
#pragma warning disable CA1849
            cancellation.Cancel();
#pragma warning restore CA1849
            try
            {
                await timer;
                return "fired";
            }
            catch (TaskCanceledException)
            {
                return "cancelled";
            }
        }
    }

    /// <summary>Waits for "go", then takes two "item" events (raised before the wait for them began).</summary>
    public sealed class BufferedItems : TaskOrchestrator<object?, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
        {
            context.SetCustomStatus("waiting");
            await context.WaitForExternalEvent<string>("go");
            string first = await context.WaitForExternalEvent<string>("item");
            string second = await context.WaitForExternalEvent<string>("item");
            return $"{first},{second}";
        }
    }

    /// <summary>Calls an activity in every generation and continues as new up to 5.</summary>
    public sealed class WorkingCounter : TaskOrchestrator<int, int>
    {
        public override async Task<int> RunAsync(TaskOrchestrationContext context, int input)
        {
            await context.CallActivityAsync<long>(nameof(Square), input);
            if (input < 5)
            {
                context.ContinueAsNew(input + 1);
                return -1;
            }

            return input;
        }
    }

    /// <summary>Runs the input's number of <see cref="AwaitApproval"/> children (instance ids: the parent's with <c>:w</c> and the index).</summary>
    public sealed class ParentOfWaiters : TaskOrchestrator<int, string[]>
    {
        public override Task<string[]> RunAsync(TaskOrchestrationContext context, int input) =>
            Task.WhenAll(Enumerable.Range(0, input).Select(i => context.CallSubOrchestratorAsync<string>(
                nameof(AwaitApproval),
                options: new SubOrchestrationOptions { InstanceId = $"{context.InstanceId}:w{i}" })));
    }

    /// <summary>Waits for a "flag" event into a value type.</summary>
    public sealed class AwaitFlag : TaskOrchestrator<object?, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
        {
            context.SetCustomStatus("waiting");
            bool flag = await context.WaitForExternalEvent<bool>("flag");
            return flag ? "set" : "unset";
        }
    }

    /// <summary>Returns an object graph with a cycle, which no JSON serializer writes.</summary>
    public sealed class UnserializableOutput : TaskOrchestrator<object?, object>
    {
        public override Task<object> RunAsync(TaskOrchestrationContext context, object? input)
        {
            var node = new Dictionary<string, object>(StringComparer.Ordinal);
            node["self"] = node;
            return Task.FromResult<object>(node);
        }
    }

    public sealed class CallUnbuildable : TaskOrchestrator<object?, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, object? input) =>
            context.CallActivityAsync<string>(UnbuildableActivity);
    }

    public sealed record ProbeRecord(int Step, bool IsReplaying, Guid Generated);

    /// <summary>
    /// Three steps, each a <see cref="TaskOrchestrationContext.NewGuid"/> and an activity call; records what every run
    /// of its code saw in <see cref="ProbeRecords"/>. Returns the three guids and the activity's view of the instance id.
    /// </summary>
    public sealed class ReplayProbe : TaskOrchestrator<object?, string[]>
    {
        public override async Task<string[]> RunAsync(TaskOrchestrationContext context, object? input)
        {
            ConcurrentQueue<ProbeRecord> records = ProbeRecords.GetOrAdd(context.InstanceId, _ => new ConcurrentQueue<ProbeRecord>());
            var seen = new List<string>();
            for (int step = 0; step < 3; step++)
            {
                Guid guid = context.NewGuid();
                records.Enqueue(new ProbeRecord(step, context.IsReplaying, guid));
                seen.Add(guid.ToString());
                seen.Add(await context.CallActivityAsync<string>(nameof(WhoAmI)));
            }

            return [.. seen];
        }
    }

    public sealed record UnreliableInput(string Key, int Failures);

    /// <summary>Fails the first <see cref="UnreliableInput.Failures"/> attempts for a key ("attempt N fails"), then returns the attempt number.</summary>
    public sealed class Unreliable : TaskActivity<UnreliableInput, int>
    {
        public override Task<int> RunAsync(TaskActivityContext context, UnreliableInput input)
        {
            int attempt = FlakyAttempts.AddOrUpdate(input.Key, 1, (_, n) => n + 1);
            return attempt <= input.Failures ? throw new InvalidOperationException($"attempt {attempt} fails") : Task.FromResult(attempt);
        }
    }

    /// <summary>Returns the id of the instance that called it.</summary>
    public sealed class WhoAmI : TaskActivity<object?, string>
    {
        public override Task<string> RunAsync(TaskActivityContext context, object? input) => Task.FromResult(context.InstanceId);
    }
}
