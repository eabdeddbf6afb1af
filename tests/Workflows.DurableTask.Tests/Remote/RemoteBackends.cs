using DurableTask.Core;
using Microsoft.DurableTask;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.Tests.Conformance;
using Xunit;

namespace Workflows.DurableTask.Tests.Remote;

/// <summary>The in-memory backend with every episode and activity run remotely, through the gRPC protocol's messages.</summary>
#pragma warning disable CA1001 // xunit disposes fixtures through IAsyncLifetime.DisposeAsync.
public sealed class InMemoryRemoteBackend : InMemoryBackend
#pragma warning restore CA1001
{
    public override bool RunsCodeInProcess => false;

    protected override TaskHubWorkerHost CreateWorker(IOrchestrationService service, DurableTaskRegistry registry) =>
        new(service, new InProcessRemoteRunner(registry));
}

/// <summary>
/// Our task hub (extended sessions on) with every episode and activity run remotely; the worker keeps the sessions, so
/// later episodes carry only their new events.
/// </summary>
#pragma warning disable CA1001 // xunit disposes fixtures through IAsyncLifetime.DisposeAsync.
public sealed class TaskHubRemoteBackend : TaskHubBackend
#pragma warning restore CA1001
{
    public override bool RunsCodeInProcess => false;

    protected override TaskHubWorkerHost CreateWorker(IOrchestrationService service, DurableTaskRegistry registry) =>
        new(service, new InProcessRemoteRunner(registry), sessionIdleTimeout: TimeSpan.FromSeconds(30));
}

public sealed class InMemoryRemoteConformanceTests(InMemoryRemoteBackend backend)
    : OrchestrationConformanceTests<InMemoryRemoteBackend>(backend), IClassFixture<InMemoryRemoteBackend>;

public sealed class TaskHubRemoteConformanceTests(TaskHubRemoteBackend backend)
    : OrchestrationConformanceTests<TaskHubRemoteBackend>(backend), IClassFixture<TaskHubRemoteBackend>;
