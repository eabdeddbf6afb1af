using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Workflows.Durable;
using Workflows.Durable.Client;
using Workflows.Durable.InMemory;
using Workflows.Durable.Worker;
using Workflows.Host;
using Workflows.Functions.Samples;

// Until the Functions-style host and the Azure Storage task hub land, the app runs its samples on the
// in-memory engine: `dotnet run --project functions/Workflows.Functions [-- fanout-count]`.
var fanOutCount = args.Length > 0 && int.TryParse(args[0], out var parsed) ? parsed : 1000;

using var loggerFactory = LoggerFactory.Create(builder => builder
    .AddSimpleConsole(options => options.SingleLine = true)
    .SetMinimumLevel(LogLevel.Information)
    .AddFilter("Workflows.Durable", LogLevel.Warning));
var logger = loggerFactory.CreateLogger("Workflows.Functions");

using var provider = new InMemoryStorageProvider();
var registry = new DurableTaskRegistry().AddFunctions(typeof(HelloSequence).Assembly);
var worker = new DurableTaskWorker(provider, registry, new DurableTaskWorkerOptions(), loggerFactory);
await worker.StartAsync(CancellationToken.None);
var client = new DurableTaskClient(provider);

using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
var clock = Stopwatch.StartNew();
var hello = await client.ScheduleNewOrchestrationInstanceAsync(HelloSequence.Name, "Amsterdam");
var helloResult = await client.WaitForInstanceCompletionAsync(hello, true, timeout.Token);
Console.WriteLine($"{HelloSequence.Name} {hello}: {helloResult.RuntimeStatus} {helloResult.SerializedOutput}");

clock.Restart();
var fan = await client.ScheduleNewOrchestrationInstanceAsync(FanOutFanIn.Name, fanOutCount);
var fanResult = await client.WaitForInstanceCompletionAsync(fan, true, timeout.Token);
Console.WriteLine($"{FanOutFanIn.Name}({fanOutCount}) {fan}: {fanResult.RuntimeStatus} {fanResult.SerializedOutput} in {clock.Elapsed.TotalMilliseconds:F0} ms");

foreach (var historyEvent in await client.GetOrchestrationHistoryAsync(hello))
{
    Console.WriteLine($"  {historyEvent.GetType().Name,-24} {historyEvent.Timestamp:O}");
}

await worker.StopAsync(CancellationToken.None);
await worker.DisposeAsync();
logger.LogInformation("Samples finished.");
return helloResult.RuntimeStatus == OrchestrationRuntimeStatus.Completed && fanResult.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? 0 : 1;
