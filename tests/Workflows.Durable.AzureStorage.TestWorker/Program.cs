using Microsoft.Extensions.Logging;
using Workflows.Durable;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.TestWorker;
using Workflows.Durable.Conformance;
using Workflows.Durable.Worker;

// A worker process for the multi-process tests. Protocol on stdout, one line each: "ready <pid>" once the worker
// runs, "owned <p,q,...|none>" whenever its set of partitions changes, "executed <n>" after each recorded activity,
// "crashing at <step> of commit <n>" just before it kills itself at a chosen commit step, "stopped" after a graceful stop. The worker's warnings and errors go to stderr, which the tests show on failure.
// It stops gracefully (finishing work in flight and releasing its leases) on a "stop" line or when stdin closes, so
// it never outlives a test process that dies; tests kill it to crash it.
TestWorkerArgs settings;
try
{
    settings = TestWorkerArgs.Parse(args);
}
catch (ArgumentException exception)
{
    await Console.Error.WriteLineAsync(exception.Message + Environment.NewLine + TestWorkerArgs.Usage);
    return 2;
}

var options = new AzureStorageOptions
{
    ConnectionString = settings.ConnectionString,
    TaskHubName = settings.Hub,
    PartitionCount = settings.Partitions,
    LeaseDuration = settings.LeaseDuration,
    LeaseRenewInterval = settings.LeaseRenewInterval,
    WorkerId = settings.WorkerId,
};
options.Validate();
var stdout = Console.Out;
var provider = new AzureStorageProvider(options, lockTimeout: settings.LockTimeout);
if (settings.CrashAt is { } crashAt)
{
    provider.Faults = CrashAt.Fault(crashAt, stdout);
}

using var journal = new ExecutionJournal(settings.JournalPath);
var registry = new DurableTaskRegistry();
TestOrchestrations.RegisterAll(registry);
RecordedWork.Register(registry, journal, settings.ActivityDelay, stdout);
using var loggerFactory = LoggerFactory.Create(logging => logging
    .SetMinimumLevel(LogLevel.Warning)
    .AddSimpleConsole(console =>
    {
        console.SingleLine = true;
        console.TimestampFormat = "HH:mm:ss.fff ";
    })
    .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));
var workerOptions = new DurableTaskWorkerOptions
{
    MaxConcurrentActivityFunctions = settings.MaxConcurrentActivities,
    MaxConcurrentOrchestratorFunctions = 4,
};
if (settings.LockTimeout is { } lockTimeout)
{
    // A running activity's lock is renewed well before it would expire.
    workerOptions.ActivityLockRenewalInterval = lockTimeout / 3;
}

var worker = new DurableTaskWorker(provider, registry, workerOptions, loggerFactory);

await worker.StartAsync(CancellationToken.None);
await stdout.WriteLineAsync($"ready {Environment.ProcessId}");
using var stopping = new CancellationTokenSource();
var ownership = ReportOwnershipAsync(provider, stdout, stopping.Token);

while (await Console.In.ReadLineAsync() is { } line && line.Trim() != "stop")
{
    // Only "stop" means something; anything else is ignored.
}

await stopping.CancelAsync();
await ownership;
using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
{
    await worker.StopAsync(timeout.Token);
}

await worker.DisposeAsync();
await provider.DisposeAsync();
await stdout.WriteLineAsync("stopped");
return 0;

// Polls the provider's in-memory ownership (no storage calls) and reports each change.
static async Task ReportOwnershipAsync(AzureStorageProvider provider, TextWriter stdout, CancellationToken cancellationToken)
{
    string? last = null;
    using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
    try
    {
        do
        {
            var owned = provider.OwnedPartitions.Order().ToArray();
            var text = owned.Length == 0 ? "none" : string.Join(',', owned);
            if (text != last)
            {
                last = text;
                await stdout.WriteLineAsync("owned " + text);
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }
    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
    {
        // Stopping.
    }
}
