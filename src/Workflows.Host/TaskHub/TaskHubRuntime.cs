using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Durable;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.Client;
using Workflows.Durable.InMemory;
using Workflows.Durable.Storage;
using Workflows.Durable.Worker;
using Workflows.Host.Azurite;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;
using Workflows.Host.Functions;
using Workflows.Host.State;

namespace Workflows.Host.TaskHub;

/// <summary>
/// The host's task hub: connects the storage (starting Azurite for <c>UseDevelopmentStorage=true</c> when no
/// emulator listens), fills the registry from the discovered functions and runs the worker. Starts before the
/// HTTP server accepts requests and stops after it.
/// </summary>
internal sealed class TaskHubRuntime(
    IOptions<FunctionsHostOptions> options,
    FunctionCatalog catalog,
    IServiceProvider services,
    ILoggerFactory loggerFactory,
    TimeProvider timeProvider) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Workflows.Host");
    private AzuriteProcess? _azurite;
    private IStorageProvider? _provider;
    private DurableTaskWorker? _worker;
    private DurableTaskClient? _client;
    private IHostStateStore? _state;
    private WorkerIdentity? _identity;

    public IStorageProvider Provider => _provider ?? throw NotStarted();

    public DurableTaskClient Client => _client ?? throw NotStarted();

    /// <summary>Keys, timer schedules and timer leases, next to the task hub.</summary>
    public IHostStateStore State => _state ?? throw NotStarted();

    /// <summary>Storage requests of the hub and the host state; null on the in-memory backend.</summary>
    public StorageTransactionCounter? TransactionCounter => AzureClients?.Counter;

    /// <summary>The Azure Storage clients of the hub; null on the in-memory backend.</summary>
    public TaskHubClients? AzureClients => (_provider as AzureStorageProvider)?.Clients;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        string storage;
        if (settings.StorageKind == HostStorageKind.InMemory)
        {
            _provider = new InMemoryStorageProvider();
            _state = new InMemoryHostStateStore(timeProvider);
            storage = "the in-memory backend";
        }
        else
        {
            var connectionString = await ConnectAsync(settings, cancellationToken).ConfigureAwait(false);
            _identity = WorkerIdentity.Claim(settings.ScriptRoot, settings.HubName);
            var azure = new AzureStorageOptions
            {
                ConnectionString = connectionString,
                TaskHubName = settings.HubName,
                PartitionCount = settings.PartitionCount,
                MaxQueuePollingInterval = settings.MaxQueuePollingInterval,
                WorkerId = _identity.Name,
            };
            azure.Validate();
            var provider = new AzureStorageProvider(azure, timeProvider, logger: loggerFactory.CreateLogger<AzureStorageProvider>());
            await provider.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            _provider = provider;
            _state = await BlobHostStateStore.CreateAsync(provider.Clients.Blobs, settings.HubName, cancellationToken).ConfigureAwait(false);
            storage = _azurite is null ? "Azure Storage" : "Azurite (started by the host)";
        }

        var registry = new DurableTaskRegistry();
        catalog.AddTo(registry, services);
        var workerOptions = new DurableTaskWorkerOptions
        {
            MaxConcurrentActivityFunctions = settings.MaxConcurrentActivityFunctions,
            MaxConcurrentOrchestratorFunctions = settings.MaxConcurrentOrchestratorFunctions,
            ExtendedSessionsEnabled = settings.ExtendedSessionsEnabled,
            MaxCachedOrchestrations = settings.MaxCachedOrchestrations,
        };
        _client = new DurableTaskClient(_provider, workerOptions.DataConverter, timeProvider);
        _worker = new DurableTaskWorker(_provider, registry, workerOptions, loggerFactory, timeProvider);
        await _worker.StartAsync(cancellationToken).ConfigureAwait(false);
        HostLog.TaskHubStarted(_logger, settings.HubName, storage, registry.OrchestratorNames.Count, registry.ActivityNames.Count);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_worker is not null)
        {
            await _worker.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.DisposeAsync().ConfigureAwait(false);
            _worker = null;
        }

        switch (_provider)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }

        _provider = null;
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

    private static InvalidOperationException NotStarted() => new("The task hub has not started yet.");
}
