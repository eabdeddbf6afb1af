namespace Workflows.Durable.AzureStorage.TestWorker;

/// <summary>
/// A fan-out whose activity takes a little time and records each execution in the process's
/// <see cref="ExecutionJournal"/> and on stdout (<c>executed N</c>), so a test can watch progress from outside
/// and check afterwards which process ran which call when.
/// </summary>
internal static class RecordedWork
{
    public const string FanOut = "RecordedFanOut";
    public const string Square = "RecordedSquare";

    public static void Register(DurableTaskRegistry registry, ExecutionJournal journal, TimeSpan activityDelay, TextWriter progress)
    {
        var executed = 0;
        registry
            .AddActivityFunc<int, int>(Square, async (context, x) =>
            {
                journal.Started(context.IdempotencyKey);
                await Task.Delay(activityDelay, context.CancellationToken);
                journal.Ended(context.IdempotencyKey);
                progress.WriteLine($"executed {Interlocked.Increment(ref executed)}");
                return x * x;
            })
            .AddOrchestratorFunc<int, long>(FanOut, async (context, count) =>
            {
                var tasks = new Task<int>[count];
                for (var i = 0; i < count; i++)
                {
                    tasks[i] = context.CallActivityAsync<int>(Square, i);
                }

                long sum = 0;
                foreach (var square in await Task.WhenAll(tasks))
                {
                    sum += square;
                }

                return sum;
            });
    }
}
