using DurableTask.Core;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.DurableTask.Client;
using Workflows.Testing;

namespace Workflows.DurableTask.Tests.Conformance;

/// <summary>Our own Azure Storage task hub through <see cref="TaskHubOrchestrationService"/>, on Azurite (started and stopped by the fixture), with extended sessions.</summary>
#pragma warning disable CA1001 // xunit disposes fixtures through IAsyncLifetime.DisposeAsync.
public class TaskHubBackend : BackendFixture
#pragma warning restore CA1001
{
    private readonly AzuriteFixture _azurite = new();
    private TaskHubOrchestrationService? _service;

    protected override async Task<(IOrchestrationService Service, IOrchestrationServiceClient Client, OrchestrationServiceClientOptions ClientOptions)> CreateBackendAsync()
    {
        await _azurite.InitializeAsync();
        _service = new TaskHubOrchestrationService(
            new AzureStorageOptions
            {
                ConnectionString = _azurite.ConnectionString,
                TaskHubName = "conformance" + Guid.NewGuid().ToString("N")[..12],
                PartitionCount = 2,
                MaxQueuePollingInterval = TimeSpan.FromMilliseconds(200),
            },
            new TaskHubOrchestrationServiceOptions { MaxConcurrentActivityWorkItems = 16, MaxConcurrentOrchestrationWorkItems = 16, ExtendedSessions = ExtendedSessions });
        return (_service, _service, new OrchestrationServiceClientOptions { StatusPollingInterval = TimeSpan.FromMilliseconds(100) });
    }

    /// <summary>Whether the backend's work items are extended sessions.</summary>
    protected virtual bool ExtendedSessions => true;

    public override bool ReplaysEveryEpisode => !ExtendedSessions;

    protected override async Task DisposeBackendAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        await _azurite.DisposeAsync();
    }
}

/// <summary>As <see cref="TaskHubBackend"/>, without extended sessions: every episode replays the history.</summary>
public sealed class TaskHubWithoutSessionsBackend : TaskHubBackend
{
    protected override bool ExtendedSessions => false;
}
