using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Workflows.DurableTask.Remote;

namespace Workflows.DurableTask.Hosting;

/// <summary>
/// Runs orchestrators and activities written with the official SDK (<see cref="TaskOrchestrator{TInput, TOutput}"/>,
/// <see cref="Microsoft.DurableTask.TaskActivity{TInput, TOutput}"/>, registered in a <see cref="DurableTaskRegistry"/>) on any Durable Task
/// Framework backend: a DTFx <see cref="TaskHubWorker"/> dispatches and replays them through the SDK's
/// <see cref="DurableTaskShimFactory"/> shims.
/// </summary>
/// <remarks>
/// Failures travel as <see cref="FailureDetails"/> (<see cref="ErrorPropagationMode.UseFailureDetails"/>), which
/// is what the SDK's <see cref="TaskFailedException"/> carries.
/// <para>
/// One rule decides where an orchestrator or activity runs: a name registered in the <see cref="DurableTaskRegistry"/>
/// runs in this process; any other name goes to the fallback <see cref="IRemoteTaskRunner"/> when one is given (the
/// sidecar's connected gRPC workers), else fails its instance or task with a <see cref="TaskNotRegisteredException"/>
/// (the worker stays up). Work handed to a fallback that has no worker to run it
/// (<see cref="RemoteWorkerUnavailableException"/>) is abandoned and delivered again later: it waits for a worker to
/// connect rather than failing, as with a Durable Task sidecar, for as long as the backend's rule for abandoned work
/// allows (a backend with poison handling fails it after its retries).
/// </para>
/// </remarks>
public sealed class TaskHubWorkerHost : IAsyncDisposable
{
    private readonly IOrchestrationService _service;
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    /// <summary>Builds (does not start) a worker for <paramref name="registry"/> over <paramref name="service"/>.</summary>
    /// <param name="service">The backend.</param>
    /// <param name="registry">The orchestrators and activities the worker runs.</param>
    /// <param name="services">Resolves the constructor arguments of registered types; none when omitted.</param>
    /// <param name="loggerFactory">Logs of DTFx and of the SDK's shims.</param>
    /// <param name="workerOptions">The SDK's worker options the shims read (data converter and the like).</param>
    /// <param name="fallback">Runs the orchestrators and activities that <paramref name="registry"/> does not name; none when null (they fail).</param>
    public TaskHubWorkerHost(
        IOrchestrationService service,
        DurableTaskRegistry registry,
        IServiceProvider? services = null,
        ILoggerFactory? loggerFactory = null,
        DurableTaskWorkerOptions? workerOptions = null,
        IRemoteTaskRunner? fallback = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _service = service ?? throw new ArgumentNullException(nameof(service));
        loggerFactory ??= NullLoggerFactory.Instance;
        services ??= EmptyServiceProvider.Instance;
        var shims = new DurableTaskShimFactory(workerOptions, loggerFactory);
        Dictionary<TaskName, Func<IServiceProvider, ITaskOrchestrator>> orchestrators = ByName(registry.GetOrchestrators());
        Dictionary<TaskName, Func<IServiceProvider, ITaskActivity>> activities = ByName(registry.GetActivities());
        Worker = new TaskHubWorker(
            service,
            new RegistryObjectManager<TaskOrchestration, ITaskOrchestrator>(
                orchestrators,
                services,
                (name, orchestrator) => new ParentAwareOrchestration(name, orchestrator, shims),
                name => new MissingOrchestration(name),
                (name, exception) => new UnbuildableOrchestration(name, exception)),
            new RegistryObjectManager<global::DurableTask.Core.TaskActivity, ITaskActivity>(
                activities,
                services,
                shims.CreateActivity,
                name => new MissingActivity(name),
                (name, exception) => new UnbuildableActivity(name, exception)),
            loggerFactory)
        {
            ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
        };
        Worker.AddOrchestrationDispatcherMiddleware(PassRuntimeStateAsync);
        if (fallback is not null)
        {
            var remote = new RemoteDispatch(fallback, sessionIdleTimeout: null, _stopping.Token);
            Worker.AddOrchestrationDispatcherMiddleware((context, next) =>
                OrchestratorName(context) is { } name && !orchestrators.ContainsKey(new TaskName(name)) ? remote.OrchestrateAsync(context, next) : next());
            Worker.AddActivityDispatcherMiddleware((context, next) =>
                context.GetProperty<TaskScheduledEvent>()?.Name is { } name && !activities.ContainsKey(new TaskName(name)) ? remote.RunActivityAsync(context, next) : next());
        }
    }

    /// <summary>
    /// Builds (does not start) a worker over <paramref name="service"/> that runs no code itself: every orchestration
    /// episode and every activity goes to <paramref name="runner"/> (a worker process) in the Durable Task gRPC
    /// protocol's messages, as the Durable Functions extension runs isolated apps.
    /// </summary>
    /// <param name="service">The backend.</param>
    /// <param name="runner">Runs the episodes and activities.</param>
    /// <param name="loggerFactory">Logs of DTFx.</param>
    /// <param name="sessionIdleTimeout">
    /// When the backend's work items are extended sessions, how long the worker may keep an idle orchestration in
    /// memory, so that later episodes send only their new events (the Durable Task SDK's extended sessions); null
    /// sends the whole history with every episode.
    /// </param>
    public TaskHubWorkerHost(IOrchestrationService service, IRemoteTaskRunner runner, ILoggerFactory? loggerFactory = null, TimeSpan? sessionIdleTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(runner);
        _service = service ?? throw new ArgumentNullException(nameof(service));
        Worker = new TaskHubWorker(service, new NoObjects<TaskOrchestration>(), new NoObjects<global::DurableTask.Core.TaskActivity>(), loggerFactory ?? NullLoggerFactory.Instance)
        {
            ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
        };
        var remote = new RemoteDispatch(runner, sessionIdleTimeout, _stopping.Token);
        Worker.AddOrchestrationDispatcherMiddleware(remote.OrchestrateAsync);
        Worker.AddActivityDispatcherMiddleware(remote.RunActivityAsync);
    }

    /// <summary>The DTFx worker.</summary>
    public TaskHubWorker Worker { get; }

    /// <summary>Creates the backend's task hub when it is missing, then starts dispatching.</summary>
    public async Task StartAsync()
    {
        await _service.CreateIfNotExistsAsync().ConfigureAwait(false);
        await Worker.StartAsync().ConfigureAwait(false);

        // As Durable Functions: scheduling events keep their inputs, so histories show what each task was given (the
        // dispatcher exists once the worker has started).
        Worker.TaskOrchestrationDispatcher.IncludeParameters = true;
    }

    /// <summary>
    /// Stops dispatching. A graceful stop lets the episodes and activities in hand finish (DTFx waits up to about 8
    /// seconds), after ending the backend's idle extended sessions (<see cref="ISessionDrain"/>), which it would
    /// otherwise wait for; a forced one does not wait.
    /// </summary>
    public Task StopAsync(bool isForced = false)
    {
        (_service as ISessionDrain)?.EndSessions();
        if (isForced)
        {
            _stopping.Cancel();
        }

        return Worker.StopAsync(isForced);
    }

    /// <summary>Stops (gracefully) and disposes the worker.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync(isForced: false).ConfigureAwait(false);
        Worker.Dispose();
        _stopping.Dispose();
    }

    /// <summary>The registrations by name; the first registration of a name wins (DTFx asks by name).</summary>
    private static Dictionary<TaskName, Func<IServiceProvider, T>> ByName<T>(IEnumerable<KeyValuePair<TaskName, Func<IServiceProvider, T>>> registrations)
    {
        var byName = new Dictionary<TaskName, Func<IServiceProvider, T>>();
        foreach (KeyValuePair<TaskName, Func<IServiceProvider, T>> registration in registrations)
        {
            _ = byName.TryAdd(registration.Key, registration.Value);
        }

        return byName;
    }

    /// <summary>The name of the orchestrator whose episode <paramref name="context"/> dispatches.</summary>
    private static string? OrchestratorName(global::DurableTask.Core.Middleware.DispatchMiddlewareContext context) =>
        (context.GetProperty<TaskOrchestrationWorkItem>()?.OrchestrationRuntimeState ?? context.GetProperty<OrchestrationRuntimeState>())?.Name;

    private static async Task PassRuntimeStateAsync(global::DurableTask.Core.Middleware.DispatchMiddlewareContext context, Func<Task> next)
    {
        ParentAwareOrchestration.CurrentRuntimeState.Value = context.GetProperty<OrchestrationRuntimeState>();
        try
        {
            await next().ConfigureAwait(false);
        }
        finally
        {
            ParentAwareOrchestration.CurrentRuntimeState.Value = null;
        }
    }

    /// <summary>No code in this process: the remote middlewares answer every name.</summary>
    private sealed class NoObjects<T> : INameVersionObjectManager<T>
    {
        public void Add(ObjectCreator<T> creator) => throw new NotSupportedException("A remote worker's code is not registered in this process.");

        public T GetObject(string name, string? version) => default!;
    }

    private sealed class EmptyServiceProvider : IServiceProvider
    {
        public static readonly EmptyServiceProvider Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
