using Grpc.Net.Client;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Usage: Workflows.Host.TestGrpcWorker <sidecar address> <marker folder> [--hang]
// Runs the orchestrator GrpcGreeting (calls the activity GrpcHello with its input) and the activity GrpcHello, which
// writes "<marker folder>/started-<pid>" when it starts; with --hang it then never finishes (the test kills it).
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Workflows.Host.TestGrpcWorker <sidecar address> <marker folder> [--hang]");
    return 2;
}

var address = new Uri(args[0]);
var markers = args[1];
var hang = args.Contains("--hang", StringComparer.Ordinal);

HostApplicationBuilder builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(static console => console.SingleLine = true);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
using GrpcChannel channel = GrpcChannel.ForAddress(address);
builder.Services.AddDurableTaskWorker(worker =>
{
    worker.AddTasks(tasks =>
    {
        tasks.AddOrchestratorFunc<string, string>("GrpcGreeting", async (context, name) =>
        {
            string greeting = await context.CallActivityAsync<string>("GrpcHello", name);
            return greeting + " (from a gRPC worker)";
        });
        tasks.AddActivityFunc<string, string>("GrpcHello", async (context, name) =>
        {
            await File.WriteAllTextAsync(Path.Combine(markers, "started-" + Environment.ProcessId), name);
            if (hang)
            {
                await Task.Delay(Timeout.Infinite);
            }

            return $"Hello, {name}!";
        });
    });
    worker.UseGrpc(channel);
});

using IHost host = builder.Build();
await host.StartAsync();
Console.WriteLine("ready");
await host.WaitForShutdownAsync();
return 0;
