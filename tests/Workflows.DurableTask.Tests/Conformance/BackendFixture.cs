using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Xunit;

namespace Workflows.DurableTask.Tests.Conformance;

/// <summary>
/// One backend with a started worker that runs <see cref="ConformanceTasks"/> and the official client over it,
/// shared by a conformance test class (each test uses instance ids of its own).
/// </summary>
#pragma warning disable CA1001 // xunit disposes fixtures through IAsyncLifetime.DisposeAsync.
public abstract class BackendFixture : IAsyncLifetime
#pragma warning restore CA1001
{
    /// <summary>Upper bound of any wait; reaching it fails the test instead of hanging it.</summary>
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(30);

    private TaskHubWorkerHost? _host;
    private DurableTaskClient? _client;

    /// <summary>How much earlier than its time a durable timer may fire on this backend.</summary>
    public virtual TimeSpan TimerPrecision => TimeSpan.Zero;

    /// <summary>
    /// Whether every episode runs the orchestrator code again from its history (no extended sessions): only then can a
    /// test see replays.
    /// </summary>
    public virtual bool ReplaysEveryEpisode => true;

    /// <summary>Whether a purge by filter leaves alone instances created after its <c>CreatedTo</c>.</summary>
    public virtual bool PurgeHonoursCreatedTo => true;

    /// <summary>
    /// Whether the orchestrator code runs in this process, behind the host's shims (which name an event payload the
    /// code cannot read); a remote worker's SDK reports such failures in its own words.
    /// </summary>
    public virtual bool RunsCodeInProcess => true;

    public DurableTaskClient Client => _client ?? throw new InvalidOperationException("The backend is not started.");

    public async Task InitializeAsync()
    {
        (IOrchestrationService service, IOrchestrationServiceClient client, OrchestrationServiceClientOptions clientOptions) = await CreateBackendAsync();
        var registry = new DurableTaskRegistry();
        ConformanceTasks.Register(registry);
        _host = CreateWorker(service, registry);
        await _host.StartAsync();
        _client = await CreateClientAsync(client, clientOptions);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync(isForced: true);
            await _host.DisposeAsync();
        }

        await DisposeBackendAsync();
    }

    /// <summary>The client the tests use: the host's own over the backend, unless a fixture says otherwise.</summary>
    protected virtual Task<DurableTaskClient> CreateClientAsync(IOrchestrationServiceClient client, OrchestrationServiceClientOptions options) =>
        Task.FromResult<DurableTaskClient>(new OrchestrationServiceDurableTaskClient(client, options));

    /// <summary>The worker that runs the registry's code over the backend: in this process, unless a fixture says otherwise.</summary>
    protected virtual TaskHubWorkerHost CreateWorker(IOrchestrationService service, DurableTaskRegistry registry) => new(service, registry);

    protected abstract Task<(IOrchestrationService Service, IOrchestrationServiceClient Client, OrchestrationServiceClientOptions ClientOptions)> CreateBackendAsync();

    protected virtual Task DisposeBackendAsync() => Task.CompletedTask;
}
