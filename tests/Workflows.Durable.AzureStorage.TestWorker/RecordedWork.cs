using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;

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

    /// <summary>
    /// The journal key of the call of <see cref="Square"/> with input <paramref name="input"/> in
    /// <paramref name="instanceId"/>: the SDK's activity context has no idempotency key, and each call of a fan-out has
    /// an input of its own.
    /// </summary>
    public static string CallKey(string instanceId, int input) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{instanceId}:{input}");

    public static void Register(SdkRegistry registry, ExecutionJournal journal, TimeSpan activityDelay, TextWriter progress)
    {
        var executed = 0;
        registry
            .AddActivityFunc<int, int>(Square, async (context, x) =>
            {
                var key = CallKey(context.InstanceId, x);
                journal.Started(key);
                await Task.Delay(activityDelay);
                journal.Ended(key);
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
