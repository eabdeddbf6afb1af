using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Entities;
using Microsoft.Extensions.Logging;
using Workflows.DurableTask;

namespace Workflows.Testing;

/// <summary>
/// The context an orchestrator function runs with in process (<see cref="IsolatedFunctionRegistry"/>): the engine's
/// own, except that <see cref="GetInput{T}"/> converts the input, which the engine hands over as JSON (an orchestrator
/// function declares no input type), to the type asked for, as the isolated worker's context does.
/// </summary>
internal sealed class InputConvertingOrchestrationContext(TaskOrchestrationContext engine, object? input) : TaskOrchestrationContext
{
    public override TaskName Name => engine.Name;

    public override string InstanceId => engine.InstanceId;

    public override ParentOrchestrationInstance? Parent => engine.Parent;

    public override DateTime CurrentUtcDateTime => engine.CurrentUtcDateTime;

    public override bool IsReplaying => engine.IsReplaying;

    public override string Version => engine.Version;

    public override IReadOnlyDictionary<string, object?> Properties => engine.Properties;

    public override TaskOrchestrationEntityFeature Entities => engine.Entities;

    public override ILoggerFactory ReplaySafeLoggerFactory => engine.ReplaySafeLoggerFactory;

    protected override ILoggerFactory LoggerFactory => engine.ReplaySafeLoggerFactory;

    public override T? GetInput<T>()
        where T : default =>
        input is JsonElement json ? WebJsonDataConverter.Instance.Deserialize<T>(json.GetRawText()) : (T?)input;

    public override Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null) =>
        engine.CallActivityAsync<TResult>(name, input, options);

    public override Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, object? input = null, TaskOptions? options = null) =>
        engine.CallSubOrchestratorAsync<TResult>(orchestratorName, input, options);

    public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken) => engine.CreateTimer(fireAt, cancellationToken);

    public override Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default) =>
        engine.WaitForExternalEvent<T>(eventName, cancellationToken);

    public override void SendEvent(string instanceId, string eventName, object payload) => engine.SendEvent(instanceId, eventName, payload);

    public override void SetCustomStatus(object? customStatus) => engine.SetCustomStatus(customStatus);

    public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) => engine.ContinueAsNew(newInput, preserveUnprocessedEvents);

    public override void ContinueAsNew(ContinueAsNewOptions options) => engine.ContinueAsNew(options);

    public override Guid NewGuid() => engine.NewGuid();

    public override int CompareVersionTo(string version) => engine.CompareVersionTo(version);
}
