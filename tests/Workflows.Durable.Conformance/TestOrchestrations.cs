namespace Workflows.Durable.Conformance;

/// <summary>Orchestrators and activities shared by the conformance suite and the engine tests.</summary>
public static class TestOrchestrations
{
    /// <summary>What "ChildThenFanOut" returns for <paramref name="count"/> calls: its child's 7² + 1 and the sum of i².</summary>
    public static long ChildThenFanOutResult(int count) => (7 * 7) + 1 + Enumerable.Range(0, count).Sum(x => (long)x * x);

    public static void RegisterAll(DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry
            .AddActivityFunc<string, string>("SayHello", (_, city) => $"Hello {city}!")
            .AddActivityFunc<int, int>("Square", (_, x) => x * x)
            .AddActivityFunc<string, string>("Fail", string (TaskActivityContext _, string message) => throw new InvalidOperationException(message))
            .AddOrchestratorFunc<string?, List<string>>("HelloSequence", async (context, _) =>
            [
                await context.CallActivityAsync<string>("SayHello", "Tokyo"),
                await context.CallActivityAsync<string>("SayHello", "Seattle"),
                await context.CallActivityAsync<string>("SayHello", "London"),
            ])
            .AddOrchestratorFunc<int, long>("FanOutFanIn", async (context, count) =>
            {
                var tasks = new Task<int>[count];
                for (var i = 0; i < count; i++)
                {
                    tasks[i] = context.CallActivityAsync<int>("Square", i);
                }

                var results = await Task.WhenAll(tasks);
                long sum = 0;
                foreach (var r in results)
                {
                    sum += r;
                }

                return sum;
            })
            .AddOrchestratorFunc<int, int>("Child", async (context, x) => await context.CallActivityAsync<int>("Square", x) + 1)
            .AddOrchestratorFunc<int, int[]>("Parent", async (context, n) =>
            {
                var children = new Task<int>[n];
                for (var i = 0; i < n; i++)
                {
                    children[i] = context.CallSubOrchestratorAsync<int>("Child", i);
                }

                return await Task.WhenAll(children);
            })
            .AddOrchestratorFunc<int, long>("ChildThenFanOut", async (context, count) =>
            {
                // A sub-orchestration, then one episode that schedules every call: with 98 calls or more that episode's
                // commit holds more events than one table batch.
                long sum = await context.CallSubOrchestratorAsync<int>("Child", 7);
                var tasks = new Task<int>[count];
                for (var i = 0; i < count; i++)
                {
                    tasks[i] = context.CallActivityAsync<int>("Square", i);
                }

                foreach (var result in await Task.WhenAll(tasks))
                {
                    sum += result;
                }

                return sum;
            })
            .AddOrchestratorFunc<string?, string>("CatchFailure", async (context, _) =>
            {
                try
                {
                    await context.CallActivityAsync<string>("Fail", "disk on fire");
                    return "not reached";
                }
                catch (TaskFailedException exception) when (exception.FailureDetails.IsCausedBy<InvalidOperationException>())
                {
                    return $"caught {exception.FailureDetails.ErrorType}: {exception.FailureDetails.ErrorMessage}";
                }
            })
            .AddOrchestratorFunc<string?, string>("Uncaught", async (context, _) =>
                await context.CallActivityAsync<string>("Fail", "unhandled"))
            .AddOrchestratorFunc<string?, string>("Approval", async (context, _) =>
            {
                context.SetCustomStatus("waiting");
                var approved = await context.WaitForExternalEvent<bool>("Approve");
                return approved ? "approved" : "rejected";
            })
            .AddOrchestratorFunc<int, int>("Counter", async (context, value) =>
            {
                if (value >= 10)
                {
                    return value;
                }

                await context.CallActivityAsync<int>("Square", value);
                context.ContinueAsNew(value + 1);
                return -1;
            })
            .AddOrchestratorFunc<string, string>("Sender", (context, target) =>
            {
                context.SendEvent(target, "Approve", true);
                return Task.FromResult("sent");
            });
    }
}
