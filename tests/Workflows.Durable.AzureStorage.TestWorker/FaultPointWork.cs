using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;
using SdkSubOrchestrationOptions = Microsoft.DurableTask.SubOrchestrationOptions;

namespace Workflows.Durable.AzureStorage.TestWorker;

/// <summary>
/// The orchestration the fault-point tests crash a worker in: a sub-orchestration, then one episode that schedules
/// every call, so that episode's commit holds more events than one table batch when there are 98 calls or more.
/// </summary>
internal static class FaultPointWork
{
    public const string ChildThenFanOut = "ChildThenFanOut";
    public const string Child = "Child";
    public const string Square = "Square";

    /// <summary>What <see cref="ChildThenFanOut"/> returns for <paramref name="count"/> calls: its child's 7² + 1 and the sum of i².</summary>
    public static long ChildThenFanOutResult(int count) => (7 * 7) + 1 + Enumerable.Range(0, count).Sum(x => (long)x * x);

    /// <summary>The instance id of the child of <paramref name="parentInstanceId"/>: named, so a test can read its history.</summary>
    public static string ChildId(string parentInstanceId) => parentInstanceId + ":0000";

    public static void Register(SdkRegistry registry) => registry
        .AddActivityFunc<int, int>(Square, (_, x) => x * x)
        .AddOrchestratorFunc<int, int>(Child, async (context, x) => await context.CallActivityAsync<int>(Square, x) + 1)
        .AddOrchestratorFunc<int, long>(ChildThenFanOut, async (context, count) =>
        {
            long sum = await context.CallSubOrchestratorAsync<int>(Child, 7, new SdkSubOrchestrationOptions { InstanceId = ChildId(context.InstanceId) });
            var tasks = new Task<int>[count];
            for (var i = 0; i < count; i++)
            {
                tasks[i] = context.CallActivityAsync<int>(Square, i);
            }

            foreach (var result in await Task.WhenAll(tasks))
            {
                sum += result;
            }

            return sum;
        });
}
