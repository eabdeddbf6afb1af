using Azure.Storage.Blobs;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.DurableTask;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;
using Workflows.DurableTask.Sidecar;
using Workflows.Host.Azurite;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;
using Workflows.Host.FunctionApp;
using Workflows.Host.State;

namespace Workflows.Host.TaskHub;

/// <summary>
/// The host's task hub: builds the backend that host.json's <c>storageProvider.type</c> names (starting Azurite for
/// <c>UseDevelopmentStorage=true</c> when no emulator listens) and dispatches its work on a DTFx worker: orchestration
/// episodes and activities of the app run in the app's worker process (<see cref="FunctionAppWorker"/>), as the Durable
/// Functions extension runs isolated apps; the HTTP API uses the official <see cref="DurableTaskClient"/>. Starts before
/// the HTTP server accepts requests and stops after it. The Durable Task gRPC endpoint (<see cref="SidecarEndpoint"/>)
/// serves the same backend to the app's <c>[DurableClient]</c> bindings and to Durable Task SDK clients and workers:
/// orchestrators and activities the app does not have go to the gRPC workers connected there.
/// </summary>
internal sealed class TaskHubRuntime(
    IOptions<FunctionsHostOptions> options,
    FunctionAppWorker app,
    FunctionMetrics metrics,
    ILoggerFactory loggerFactory,
    TimeProvider timeProvider) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Workflows.Host");
    private AzuriteProcess? _azurite;
    private IOrchestrationService? _service;
    private TaskHubWorkerHost? _worker;
    private OrchestrationServiceDurableTaskClient? _client;
    private IHostStateStore? _state;
    private WorkerIdentity? _identity;
    private WorkItemStreams? _workItems;
    private TaskHubSidecar? _sidecar;
    private SidecarEndpoint? _endpoint;

    public OrchestrationServiceDurableTaskClient Client => _client ?? throw NotStarted();

    /// <summary>How many Durable Task gRPC workers are connected to the endpoint now.</summary>
    public int ConnectedGrpcWorkers => _workItems?.ConnectedWorkers ?? 0;

    /// <summary>Whether a Durable Task gRPC worker has connected since the task hub started (see <see cref="AppTaskRunner"/>).</summary>
    public bool GrpcWorkersEverConnected => _workItems?.EverConnected ?? false;

    /// <summary>Where the Durable Task gRPC endpoint listens, e.g. <c>http://127.0.0.1:4001</c>.</summary>
    public Uri SidecarAddress => _endpoint?.Address ?? throw NotStarted();

    /// <summary>Keys, timer schedules and timer leases, next to the task hub.</summary>
    public IHostStateStore State => _state ?? throw NotStarted();

    /// <summary>Storage requests of our task hub and the host state; null on the other backends.</summary>
    public StorageTransactionCounter? TransactionCounter => (_service as TaskHubOrchestrationService)?.Provider.Clients.Counter;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        string storage;
        IOrchestrationServiceClient serviceClient;
        TimeSpan? statusPolling = TimeSpan.FromMilliseconds(500);
        Func<string, string?, Task>? rewind = null;
        switch (settings.StorageKind)
        {
            case HostStorageKind.InMemory:
            {
                var inMemory = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions
                {
                    TimeProvider = timeProvider,
                    TaskHubName = settings.HubName,
                    MaxConcurrentActivityWorkItems = settings.MaxConcurrentActivityFunctions,
                    MaxConcurrentOrchestrationWorkItems = settings.MaxConcurrentOrchestratorFunctions,
                    ExtendedSessionIdleTimeout = settings.ExtendedSessionsEnabled ? TimeSpan.FromSeconds(settings.ExtendedSessionIdleTimeoutInSeconds) : null,
                });
                (_service, serviceClient, statusPolling) = (inMemory, inMemory, null);
                _state = new InMemoryHostStateStore(timeProvider);
                storage = "the in-memory backend";
                break;
            }

            case HostStorageKind.AzureStorage:
            {
                var connectionString = await ConnectAsync(settings, cancellationToken).ConfigureAwait(false);
                var dtfx = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
                {
                    StorageAccountClientProvider = new StorageAccountClientProvider(connectionString),
                    TaskHubName = settings.HubName,
                    PartitionCount = settings.PartitionCount,
                    MaxQueuePollingInterval = settings.MaxQueuePollingInterval,
                    MaxConcurrentTaskActivityWorkItems = settings.MaxConcurrentActivityFunctions,
                    MaxConcurrentTaskOrchestrationWorkItems = settings.MaxConcurrentOrchestratorFunctions,
                    ExtendedSessionsEnabled = settings.ExtendedSessionsEnabled,
                    ExtendedSessionIdleTimeout = TimeSpan.FromSeconds(settings.ExtendedSessionIdleTimeoutInSeconds),
                    LoggerFactory = loggerFactory,
                });
                (_service, serviceClient, rewind) = (dtfx, dtfx, dtfx.RewindTaskOrchestrationAsync);
                _state = await BlobHostStateStore.CreateAsync(new BlobServiceClient(connectionString), settings.HubName, cancellationToken).ConfigureAwait(false);
                storage = (_azurite is null ? "Azure Storage" : "Azurite (started by the host)") + " with DTFx's AzureStorage provider";
                break;
            }

            default:
            {
                var connectionString = await ConnectAsync(settings, cancellationToken).ConfigureAwait(false);
                _identity = WorkerIdentity.Claim(settings.ScriptRoot, StorageAccountOf(connectionString), settings.HubName);
                var azure = new AzureStorageOptions
                {
                    ConnectionString = connectionString,
                    TaskHubName = settings.HubName,
                    PartitionCount = settings.PartitionCount,
                    MaxQueuePollingInterval = settings.MaxQueuePollingInterval,
                    WorkerId = _identity.Name,
                };
                azure.Validate();
                var ours = new TaskHubOrchestrationService(
                    azure,
                    new TaskHubOrchestrationServiceOptions
                    {
                        MaxConcurrentActivityWorkItems = settings.MaxConcurrentActivityFunctions,
                        MaxConcurrentOrchestrationWorkItems = settings.MaxConcurrentOrchestratorFunctions,
                        ExtendedSessions = settings.ExtendedSessionsEnabled,
                        ExtendedSessionIdleTimeout = TimeSpan.FromSeconds(settings.ExtendedSessionIdleTimeoutInSeconds),
                    },
                    timeProvider,
                    loggerFactory.CreateLogger<AzureStorageProvider>());
                (_service, serviceClient) = (ours, ours);
                await ours.CreateIfNotExistsAsync().ConfigureAwait(false);
                _state = await BlobHostStateStore.CreateAsync(ours.Provider.Clients.Blobs, settings.HubName, cancellationToken).ConfigureAwait(false);
                storage = _azurite is null ? "Azure Storage" : "Azurite (started by the host)";
                break;
            }
        }

        var clientOptions = new OrchestrationServiceClientOptions
        {
            DataConverter = WebJsonDataConverter.Instance,
            TimeProvider = timeProvider,
            StatusPollingInterval = statusPolling,
            Rewind = rewind,
        };
        _client = new OrchestrationServiceDurableTaskClient(serviceClient, clientOptions);

        // The endpoint first: the app's durable clients reach the task hub through it.
        _workItems = new WorkItemStreams();
        var runner = new AppTaskRunner(app, _workItems, metrics);
        _sidecar = new TaskHubSidecar(serviceClient, clientOptions, _workItems, runner.HasOrchestrator);
        _endpoint = await SidecarEndpoint.StartAsync(_sidecar, settings.GrpcPort, loggerFactory, cancellationToken).ConfigureAwait(false);
        app.UseSidecar(_endpoint.Address);
        HostLog.SidecarListening(_logger, _endpoint.Address.ToString().TrimEnd('/'));

        // Extended sessions on the worker too: later episodes of an orchestration kept in its memory send only new events.
        var sessionIdleTimeout = settings.ExtendedSessionsEnabled ? TimeSpan.FromSeconds(settings.ExtendedSessionIdleTimeoutInSeconds) : (TimeSpan?)null;
        _worker = new TaskHubWorkerHost(_service, runner, loggerFactory, sessionIdleTimeout);
        await _worker.StartAsync().ConfigureAwait(false);
        HostLog.TaskHubStarted(_logger, settings.HubName, storage, app.Catalog.Orchestrators.Count(), app.Catalog.Activities.Count());
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_worker is not null)
        {
            await _worker.StopAsync().ConfigureAwait(false);
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        // The worker first: episodes and activities in hand on gRPC workers complete through the endpoint's streams.
        if (_worker is not null)
        {
            await _worker.DisposeAsync().ConfigureAwait(false);
            _worker = null;
        }

        _workItems?.Close();
        if (_endpoint is not null)
        {
            await _endpoint.StopAsync().ConfigureAwait(false);
            await _endpoint.DisposeAsync().ConfigureAwait(false);
            _endpoint = null;
        }

        if (_sidecar is not null)
        {
            await _sidecar.DisposeAsync().ConfigureAwait(false);
            _sidecar = null;
        }

        switch (_service)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }

        _service = null;
        _identity?.Dispose();
        _identity = null;
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync().ConfigureAwait(false);
            _azurite = null;
            HostLog.StoppedAzurite(_logger);
        }
    }

    private async Task<string> ConnectAsync(FunctionsHostOptions settings, CancellationToken cancellationToken)
    {
        var connectionString = settings.StorageConnectionString!;
        if (!connectionString.Replace(" ", string.Empty, StringComparison.Ordinal).Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase))
        {
            return connectionString;
        }

        // Azurite's default ports are what UseDevelopmentStorage=true means; any other port gets spelled out.
        var port = settings.AzuritePort;
        if (port != AzuriteProcess.DefaultBlobPort)
        {
            connectionString = AzuriteProcess.ConnectionStringFor(port, port + 1, port + 2);
        }

        string root;
        try
        {
            root = AzuriteProcess.FindRepositoryRoot(settings.ScriptRoot);
        }
        catch (InvalidOperationException exception)
        {
            if (await AzuriteProcess.IsListeningAsync(port, cancellationToken).ConfigureAwait(false))
            {
                return connectionString;
            }

            throw new HostConfigurationException(
                $"AzureWebJobsStorage is UseDevelopmentStorage=true but no emulator listens on 127.0.0.1:{port}, and there is no package.json to start Azurite from.", exception);
        }

        // On disk under the git-ignored .azurite/ folder, so local debugging state survives restarts; detached, so it
        // outlives a host that is killed and a Ctrl+C meant for the host reaches the host alone, which stops the
        // emulator last, after giving back its leases. An emulator that a killed host of this folder started is taken
        // over: this host stops it on a clean stop. One that something else started is used and left running.
        var location = Path.Combine(root, port == AzuriteProcess.DefaultBlobPort ? ".azurite" : $".azurite-{port}");
        var log = Path.Combine(location, "azurite.log");
        if (await AzuriteProcess.IsListeningAsync(port, cancellationToken).ConfigureAwait(false))
        {
            _azurite = AzuriteProcess.Adopt(log, port, port + 1, port + 2);
            if (_azurite is not null)
            {
                HostLog.AdoptedAzurite(_logger, location);
            }

            return connectionString;
        }

        Directory.CreateDirectory(location);
        HostLog.StartingAzurite(_logger, port, location, log);
        _azurite = await AzuriteProcess.StartDetachedAsync(root, location, port, port + 1, port + 2, log, cancellationToken).ConfigureAwait(false);
        return connectionString;
    }

    /// <summary>The storage account a connection string names, without its key: its blob endpoint, or its account name and suffix.</summary>
    private static string StorageAccountOf(string connectionString)
    {
        string? Part(string name) => connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2))
            .FirstOrDefault(pair => pair.Length == 2 && string.Equals(pair[0], name, StringComparison.OrdinalIgnoreCase))?[1];

        return Part("BlobEndpoint")
            ?? (Part("AccountName") is { } account ? account + "." + (Part("EndpointSuffix") ?? "core.windows.net") : "UseDevelopmentStorage");
    }

    private static InvalidOperationException NotStarted() => new("The task hub has not started yet.");
}
