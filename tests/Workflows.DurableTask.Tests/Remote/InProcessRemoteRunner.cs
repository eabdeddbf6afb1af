using DurableTask.Core;
using Google.Protobuf;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Converters;
using Microsoft.DurableTask.Protobuf;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Grpc;
using Workflows.DurableTask.Remote;

namespace Workflows.DurableTask.Tests.Remote;

/// <summary>
/// A remote runner without a process boundary: episodes go through the official SDK's
/// <see cref="GrpcOrchestrationRunner"/>, the code an isolated Functions worker runs for an orchestration trigger,
/// as base64 protobuf text both ways; activities get their input deserialized and their output serialized as JSON, as
/// a worker's activity trigger does. Everything the dispatcher sends and receives crosses the wire format. It keeps
/// extended sessions as a worker does: an episode that sends only new events finds the orchestration in memory, or asks
/// for the history again.
/// </summary>
internal sealed class InProcessRemoteRunner(DurableTaskRegistry registry, IServiceProvider? services = null) : IRemoteTaskRunner, IDisposable
{
    private readonly ExtendedSessionsCache _sessions = new();
    private static readonly DataConverter Converter = JsonDataConverter.Default;
    private readonly Dictionary<TaskName, Func<IServiceProvider, ITaskOrchestrator>> _orchestrators = ByName(registry.GetOrchestrators());
    private readonly Dictionary<TaskName, Func<IServiceProvider, ITaskActivity>> _activities = ByName(registry.GetActivities());
    private readonly IServiceProvider _services = services ?? new EmptyServices();

    public bool HasOrchestrator(string name) => _orchestrators.ContainsKey(new TaskName(name));

    public bool HasActivity(string name) => _activities.ContainsKey(new TaskName(name));

    public Task<OrchestratorResponse> RunOrchestratorAsync(string name, OrchestratorRequest request, CancellationToken cancellationToken)
    {
        ITaskOrchestrator orchestrator = _orchestrators[new TaskName(name)](_services);
        string encoded = GrpcOrchestrationRunner.LoadAndRun(Convert.ToBase64String(request.ToByteArray()), orchestrator, _sessions, _services);
        return Task.FromResult(OrchestratorResponse.Parser.ParseFrom(Convert.FromBase64String(encoded)));
    }

    /// <summary>Runs an episode as a worker that keeps no sessions (a restarted one): a request without the history is answered with a request for it.</summary>
    public Task<OrchestratorResponse> RunWithoutSessionAsync(string name, OrchestratorRequest request)
    {
        ITaskOrchestrator orchestrator = _orchestrators[new TaskName(name)](_services);
        using var empty = new ExtendedSessionsCache();
        string encoded = GrpcOrchestrationRunner.LoadAndRun(Convert.ToBase64String(request.ToByteArray()), orchestrator, empty, _services);
        return Task.FromResult(OrchestratorResponse.Parser.ParseFrom(Convert.FromBase64String(encoded)));
    }

    public async Task<RemoteActivityResult> RunActivityAsync(RemoteActivityRequest request, CancellationToken cancellationToken)
    {
        ITaskActivity activity = _activities[new TaskName(request.Name)](_services);
        try
        {
            object? input = Converter.Deserialize(request.Input, activity.InputType);
            object? output = await activity.RunAsync(new Context(new TaskName(request.Name), request.InstanceId), input);
            return RemoteActivityResult.Completed(Converter.Serialize(output));
        }
#pragma warning disable CA1031 // The activity's exception is its failure, as in a worker.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            return RemoteActivityResult.Failed(new FailureDetails(exception));
        }
    }

    public void Dispose() => _sessions.Dispose();

    private static Dictionary<TaskName, Func<IServiceProvider, T>> ByName<T>(IEnumerable<KeyValuePair<TaskName, Func<IServiceProvider, T>>> registrations)
    {
        var byName = new Dictionary<TaskName, Func<IServiceProvider, T>>();
        foreach (KeyValuePair<TaskName, Func<IServiceProvider, T>> registration in registrations)
        {
            _ = byName.TryAdd(registration.Key, registration.Value);
        }

        return byName;
    }

    private sealed class Context(TaskName name, string instanceId) : TaskActivityContext
    {
        public override TaskName Name => name;

        public override string InstanceId => instanceId;
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public object? GetService(Type serviceType) => null;
    }
}
