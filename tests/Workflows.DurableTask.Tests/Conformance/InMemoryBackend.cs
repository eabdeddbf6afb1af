using DurableTask.Core;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.InMemory;

namespace Workflows.DurableTask.Tests.Conformance;

/// <summary>The in-memory backend, one episode per work item (no extended sessions).</summary>
#pragma warning disable CA1001 // xunit disposes fixtures through IAsyncLifetime.DisposeAsync.
public class InMemoryBackend : BackendFixture
#pragma warning restore CA1001
{
    private InMemoryOrchestrationService? _service;

    protected virtual TimeSpan? ExtendedSessionIdleTimeout => null;

    protected override Task<(IOrchestrationService Service, IOrchestrationServiceClient Client, OrchestrationServiceClientOptions ClientOptions)> CreateBackendAsync()
    {
        _service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions
        {
            ExtendedSessionIdleTimeout = ExtendedSessionIdleTimeout,
            AbandonRetryDelay = TimeSpan.FromMilliseconds(50),
        });
        return Task.FromResult<(IOrchestrationService, IOrchestrationServiceClient, OrchestrationServiceClientOptions)>(
            (_service, _service, new OrchestrationServiceClientOptions { StatusPollingInterval = null }));
    }

    protected override Task DisposeBackendAsync()
    {
        _service?.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The in-memory backend with extended sessions: a worker keeps an instance between episodes.</summary>
public sealed class InMemoryExtendedSessionsBackend : InMemoryBackend
{
    protected override TimeSpan? ExtendedSessionIdleTimeout => TimeSpan.FromSeconds(1);

    public override bool ReplaysEveryEpisode => false;
}
