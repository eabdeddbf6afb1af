using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>The fan-out/fan-in the in-process tests run: <c>count</c> calls of an int activity at once, summed as a long.</summary>
internal static class FanOutOrchestration
{
    /// <summary>Adds orchestrator <paramref name="name"/>, which calls <paramref name="activity"/> with 0 … count − 1 at once and sums the results.</summary>
    public static SdkRegistry AddFanOut(this SdkRegistry registry, string name, string activity) => registry
        .AddOrchestratorFunc<int, long>(name, async (context, count) =>
        {
            var tasks = new Task<int>[count];
            for (var i = 0; i < count; i++)
            {
                tasks[i] = context.CallActivityAsync<int>(activity, i);
            }

            long sum = 0;
            foreach (var value in await Task.WhenAll(tasks))
            {
                sum += value;
            }

            return sum;
        });
}
