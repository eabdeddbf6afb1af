using System.Text.Json;
using DurableTask.Core;
using Google.Protobuf;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Workflows.DurableTask.Remote;
using P = Microsoft.DurableTask.Protobuf;

namespace Workflows.Host.Rpc;

/// <summary>
/// Runs the app's orchestrators and activities in its worker process, as the Durable Functions extension runs an
/// isolated app: an episode is an invocation of the orchestration-trigger function with the base64 protobuf
/// <see cref="P.OrchestratorRequest"/> as its trigger data, answered by a base64 <see cref="P.OrchestratorResponse"/>;
/// an activity is an invocation of the activity-trigger function with its JSON input, answered by its result or its
/// failure details. A worker that dies mid-invocation, or is restarting, makes the work unavailable: the task hub
/// delivers it again to the next worker.
/// </summary>
internal sealed class FunctionsWorkerRunner(WorkerChannel channel, WorkerBindings? bindings = null) : IRemoteTaskRunner
{
    private const string OrchestrationTrigger = "orchestrationTrigger";
    private const string ActivityTrigger = "activityTrigger";

    /// <summary>
    /// Whether the worker has the orchestrator. While no worker is ready (a restart) every name counts as known: the
    /// episode waits for the worker, which tells.
    /// </summary>
    public bool HasOrchestrator(string name) => Knows(name, OrchestrationTrigger);

    /// <inheritdoc cref="HasOrchestrator"/>
    public bool HasActivity(string name) => Knows(name, ActivityTrigger);

    public async Task<P.OrchestratorResponse> RunOrchestratorAsync(string name, P.OrchestratorRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = await InvokeAsync(name, OrchestrationTrigger, new TypedData { String = Convert.ToBase64String(request.ToByteArray()) }, null, cancellationToken).ConfigureAwait(false);
        if (response.Result.Status != StatusResult.Types.Status.Success)
        {
            throw new InvalidOperationException(response.Result.Exception?.Message ?? "The orchestration function failed without an exception.");
        }

        var encoded = response.ReturnValue?.DataCase == TypedData.DataOneofCase.String ? response.ReturnValue.String : null;
        if (string.IsNullOrEmpty(encoded))
        {
            throw new InvalidOperationException("The orchestration function returned no orchestrator response; is the function an [OrchestrationTrigger] of Microsoft.Azure.Functions.Worker.Extensions.DurableTask?");
        }

        return P.OrchestratorResponse.Parser.ParseFrom(Convert.FromBase64String(encoded));
    }

    public async Task<RemoteActivityResult> RunActivityAsync(RemoteActivityRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // As the Durable extension, the activity's binding data names its orchestration instance (an `instanceId` parameter binds to it).
        var metadata = new Dictionary<string, TypedData>(StringComparer.Ordinal) { ["instanceId"] = new TypedData { String = request.InstanceId } };
        var response = await InvokeAsync(request.Name, ActivityTrigger, new TypedData { String = request.Input ?? "null" }, metadata, cancellationToken).ConfigureAwait(false);
        if (response.Result.Status != StatusResult.Types.Status.Success)
        {
            return RemoteActivityResult.Failed(Failure(response.Result.Exception));
        }

        // A string comes back as the string itself, anything else as JSON; the task hub stores JSON.
        return RemoteActivityResult.Completed(response.ReturnValue?.DataCase switch
        {
            null or TypedData.DataOneofCase.None => null,
            TypedData.DataOneofCase.String => JsonSerializer.Serialize(response.ReturnValue.String),
            TypedData.DataOneofCase.Json => response.ReturnValue.Json,
            TypedData.DataOneofCase.Int => response.ReturnValue.Int.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TypedData.DataOneofCase.Double => JsonSerializer.Serialize(response.ReturnValue.Double),
            var other => throw new InvalidOperationException($"Activity '{request.Name}' returned {other} data, which the task hub cannot store."),
        });
    }

    /// <summary>
    /// The failure an activity's invocation reports: the Durable extension sends its failure details as JSON in the
    /// exception's message; anything else is taken as it is.
    /// </summary>
    internal static FailureDetails Failure(RpcException? exception)
    {
        if (exception is null)
        {
            return new FailureDetails("Exception", "The activity failed without an exception.", null, null, isNonRetriable: false);
        }

        try
        {
            using var details = JsonDocument.Parse(exception.Message);
            if (details.RootElement.ValueKind == JsonValueKind.Object && FromJson(details.RootElement) is { } parsed)
            {
                return parsed;
            }
        }
        catch (JsonException)
        {
            // Not the extension's failure details.
        }

        return new FailureDetails(string.IsNullOrEmpty(exception.Type) ? "Exception" : exception.Type, exception.Message, exception.StackTrace, null, isNonRetriable: false);
    }

    private static FailureDetails? FromJson(JsonElement element)
    {
        string? Text(string name) =>
            element.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) is { Value.ValueKind: JsonValueKind.String } property
                ? property.Value.GetString()
                : null;

        if (Text("errorType") is not { } type || Text("errorMessage") is not { } message)
        {
            return null;
        }

        var inner = element.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, "innerFailure", StringComparison.OrdinalIgnoreCase));
        return new FailureDetails(type, message, Text("stackTrace"), inner.Value.ValueKind == JsonValueKind.Object ? FromJson(inner.Value) : null, isNonRetriable: false);
    }

    private bool Knows(string name, string triggerType)
    {
        var functions = channel.Functions;
        return functions.Count == 0 || Find(functions, name, triggerType) is not null;
    }

    /// <summary>The function whose trigger of <paramref name="triggerType"/> answers to <paramref name="name"/> in the task hub.</summary>
    private static WorkerFunction? Find(IReadOnlyList<WorkerFunction> functions, string name, string triggerType) =>
        functions.FirstOrDefault(function => string.Equals(WorkerCatalog.TaskNameOf(function, triggerType), name, StringComparison.OrdinalIgnoreCase));

    private async Task<InvocationResponse> InvokeAsync(
        string name, string triggerType, TypedData data, IReadOnlyDictionary<string, TypedData>? triggerMetadata, CancellationToken cancellationToken)
    {
        try
        {
            await channel.WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);
            var function = Find(channel.Functions, name, triggerType)
                ?? throw new InvalidOperationException($"The app has no {triggerType} function for '{name}'.");
            var trigger = function.Trigger!;
            ParameterBinding[] inputs = [new ParameterBinding { Name = trigger.Name, Data = data }, .. bindings?.InputsFor(function) ?? []];
            return await channel.InvokeAsync(function.Name, inputs, triggerMetadata, cancellationToken).ConfigureAwait(false);
        }
        catch (WorkerExitedException exception)
        {
            throw new RemoteWorkerUnavailableException(exception.Message, exception);
        }
        catch (ObjectDisposedException exception)
        {
            throw new RemoteWorkerUnavailableException("The worker channel has stopped.", exception);
        }
    }
}
