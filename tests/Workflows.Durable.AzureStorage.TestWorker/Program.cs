using System.Globalization;
using Azure;
using Azure.Data.Tables;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Logging;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.Durable.AzureStorage.TestWorker;
using Workflows.DurableTask;
using Workflows.DurableTask.Hosting;
using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;

// A worker process for the multi-process tests: the official SDK's orchestrators and activities on a DTFx TaskHubWorker
// (TaskHubWorkerHost) over the task hub, through our backend (TaskHubOrchestrationService, the default) or DTFx's own
// Azure Storage provider (--backend dtfx). Protocol on stdout, one line each: "ready <pid>" once the worker runs,
// "owned <p,q,...|none>" whenever its set of partitions changes, "executed <n>" after each recorded activity,
// "crashing at <step> of commit <n>" just before it kills itself at a chosen commit step (ours only), "stopped" after a
// graceful stop. The worker's warnings and errors go to stderr, which the tests show on failure.
// It stops gracefully (finishing work in flight and releasing its leases) on a "stop" line or when stdin closes, so
// it never outlives a test process that dies; tests kill it to crash it.
TestWorkerArgs settings;
try
{
    settings = TestWorkerArgs.Parse(args);
    if (settings.CrashAt is not null && settings.Backend != TestWorkerArgs.WorkflowsBackend)
    {
        throw new ArgumentException("--crash-at and --freeze-at need --backend workflows: they use its commit fault hooks.");
    }
}
catch (ArgumentException exception)
{
    await Console.Error.WriteLineAsync(exception.Message + Environment.NewLine + TestWorkerArgs.Usage);
    return 2;
}

var stdout = Console.Out;
using var loggerFactory = LoggerFactory.Create(logging => logging
    .SetMinimumLevel(LogLevel.Warning)
    .AddSimpleConsole(console =>
    {
        console.SingleLine = true;
        console.TimestampFormat = "HH:mm:ss.fff ";
    })
    .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));

IOrchestrationService service;
Func<CancellationToken, Task<IReadOnlyCollection<int>>> ownedPartitions;
TimeSpan ownershipPolling;
if (settings.Backend == TestWorkerArgs.DtfxBackend)
{
    // Without a name, each DTFx worker would be named after the machine, and two processes on one machine would
    // believe they own the same partitions (ours gives each run a random name).
    var workerId = settings.WorkerId ?? $"{Environment.MachineName}-{Environment.ProcessId}";
    var visibility = settings.LockTimeout ?? TimeSpan.FromMinutes(5);
    var dtfx = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
    {
        StorageAccountClientProvider = new StorageAccountClientProvider(settings.ConnectionString),
        TaskHubName = settings.Hub,
        PartitionCount = settings.Partitions,
        WorkerId = workerId,
        LeaseInterval = settings.LeaseDuration,
        LeaseRenewInterval = settings.LeaseRenewInterval,
        LeaseAcquireInterval = settings.LeaseRenewInterval,
        ControlQueueVisibilityTimeout = visibility,
        WorkItemQueueVisibilityTimeout = visibility,
        MaxConcurrentTaskActivityWorkItems = settings.MaxConcurrentActivities,
        MaxConcurrentTaskOrchestrationWorkItems = 4,
        MaxQueuePollingInterval = TimeSpan.FromSeconds(1),
        LoggerFactory = loggerFactory,
    });
    service = dtfx;
    var leases = new TableClient(settings.ConnectionString, settings.Hub + "Partitions");
    ownedPartitions = cancellationToken => DtfxOwnedPartitionsAsync(leases, workerId, cancellationToken);
    ownershipPolling = TimeSpan.FromMilliseconds(500);
}
else
{
    var storage = new AzureStorageOptions
    {
        ConnectionString = settings.ConnectionString,
        TaskHubName = settings.Hub,
        PartitionCount = settings.Partitions,
        LeaseDuration = settings.LeaseDuration,
        LeaseRenewInterval = settings.LeaseRenewInterval,
        WorkerId = settings.WorkerId,
    };
    if (settings.LockTimeout is { } lockTimeout)
    {
        storage.MessageVisibilityTimeout = lockTimeout;
    }

    storage.Validate();
    var ours = new TaskHubOrchestrationService(
        storage,
        new TaskHubOrchestrationServiceOptions { MaxConcurrentActivityWorkItems = settings.MaxConcurrentActivities, MaxConcurrentOrchestrationWorkItems = 4 },
        logger: loggerFactory.CreateLogger("Workflows.Durable.AzureStorage"));
    if (settings.CrashAt is { } crashAt)
    {
        ours.Provider.Faults = CrashAt.Fault(crashAt, stdout);
    }

    service = ours;

    // The provider's in-memory ownership: no storage calls.
    ownedPartitions = _ => Task.FromResult(ours.Provider.OwnedPartitions);
    ownershipPolling = TimeSpan.FromMilliseconds(100);
}

using var journal = new ExecutionJournal(settings.JournalPath);
var registry = new SdkRegistry();
FaultPointWork.Register(registry);
RecordedWork.Register(registry, journal, settings.ActivityDelay, stdout);
var host = new TaskHubWorkerHost(service, registry, loggerFactory: loggerFactory, workerOptions: new DurableTaskWorkerOptions { DataConverter = WebJsonDataConverter.Instance });

await host.StartAsync();
await stdout.WriteLineAsync($"ready {Environment.ProcessId}");
using var stopping = new CancellationTokenSource();
var ownership = ReportOwnershipAsync(ownedPartitions, ownershipPolling, stdout, stopping.Token);

while (await Console.In.ReadLineAsync() is { } line && line.Trim() != "stop")
{
    // Only "stop" means something; anything else is ignored.
}

await stopping.CancelAsync();
await ownership;

// A graceful stop: the work items in hand finish (DTFx waits for them a few seconds); then the backend gives its
// partition leases back (ours when disposed, DTFx's when stopped).
await host.StopAsync(isForced: false);
await host.DisposeAsync();
switch (service)
{
    case IAsyncDisposable asyncDisposable:
        await asyncDisposable.DisposeAsync();
        break;
    case IDisposable disposable:
        disposable.Dispose();
        break;
}

await stdout.WriteLineAsync("stopped");
return 0;

// Polls the backend's ownership and reports each change.
static async Task ReportOwnershipAsync(Func<CancellationToken, Task<IReadOnlyCollection<int>>> ownedPartitions, TimeSpan interval, TextWriter stdout, CancellationToken cancellationToken)
{
    string? last = null;
    using var timer = new PeriodicTimer(interval);
    try
    {
        do
        {
            var owned = (await ownedPartitions(cancellationToken)).Order().ToArray();
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

// DTFx keeps its ownership to itself: read it from its partition table ("<hub>Partitions", its default partition
// manager's), one row per control queue ("<hub>-control-NN") naming the worker that owns it now.
static async Task<IReadOnlyCollection<int>> DtfxOwnedPartitionsAsync(TableClient leases, string workerId, CancellationToken cancellationToken)
{
    var owned = new List<int>();
    try
    {
        await foreach (var lease in leases.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
        {
            if (lease.GetString("CurrentOwner") == workerId
                && int.TryParse(lease.RowKey.AsSpan(lease.RowKey.LastIndexOf('-') + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
            {
                owned.Add(partition);
            }
        }
    }
    catch (RequestFailedException exception) when (exception.Status == 404)
    {
        // The partition table is not created yet.
    }

    return owned;
}
