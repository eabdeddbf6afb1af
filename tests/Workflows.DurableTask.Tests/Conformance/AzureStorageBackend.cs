using DurableTask.AzureStorage;
using DurableTask.Core;
using Workflows.DurableTask.Client;
using Workflows.Testing;

namespace Workflows.DurableTask.Tests.Conformance;

/// <summary>DTFx's own Azure Storage provider on Azurite (started and stopped by the fixture).</summary>
#pragma warning disable CA1001 // xunit disposes fixtures through IAsyncLifetime.DisposeAsync.
public sealed class AzureStorageBackend : BackendFixture
#pragma warning restore CA1001
{
    private readonly AzuriteFixture _azurite = new();
    private AzureStorageOrchestrationService? _service;

    /// <summary>
    /// DTFx's provider delays a timer message by queue visibility, which Azure Storage counts in whole seconds
    /// (truncated): a timer can fire up to a second early.
    /// </summary>
    public override TimeSpan TimerPrecision => TimeSpan.FromSeconds(1);

    /// <summary>DTFx's provider (2.11) purged an instance created after the filter's CreatedTo: its upper bound is not relied on.</summary>
    public override bool PurgeHonoursCreatedTo => false;

    protected override async Task<(IOrchestrationService Service, IOrchestrationServiceClient Client, OrchestrationServiceClientOptions ClientOptions)> CreateBackendAsync()
    {
        await _azurite.InitializeAsync();
        _service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            StorageAccountClientProvider = new StorageAccountClientProvider(_azurite.ConnectionString),
            TaskHubName = "conformance",
            PartitionCount = 1,
            MaxQueuePollingInterval = TimeSpan.FromMilliseconds(200),
            MaxConcurrentTaskActivityWorkItems = 16,
            MaxConcurrentTaskOrchestrationWorkItems = 16,
        });
        return (_service, _service, new OrchestrationServiceClientOptions
        {
            StatusPollingInterval = TimeSpan.FromMilliseconds(100),
            Rewind = _service.RewindTaskOrchestrationAsync,
        });
    }

    protected override async Task DisposeBackendAsync()
    {
        (_service as IDisposable)?.Dispose();
        await _azurite.DisposeAsync();
    }
}
