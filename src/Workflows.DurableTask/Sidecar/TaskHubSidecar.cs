using DurableTask.Core;
using DurableTask.Core.Exceptions;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Remote;
using P = Microsoft.DurableTask.Protobuf;
using SdkStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Workflows.DurableTask.Sidecar;

/// <summary>
/// A Durable Task sidecar over any DTFx backend: the <c>TaskHubSidecarService</c> gRPC service that the Durable Task
/// SDKs' gRPC clients (<c>Microsoft.DurableTask.Client.Grpc</c>, the Functions worker's <c>[DurableClient]</c>) call,
/// answered by <see cref="OrchestrationServiceDurableTaskClient"/> so every backend behaves as it does for the host's
/// own client; and the work-item stream that gRPC workers (<c>Microsoft.DurableTask.Worker.Grpc</c>) run
/// orchestrations and activities from (<see cref="WorkItemStreams"/>).
/// </summary>
/// <remarks>
/// Payloads pass through as the caller serialized them. A missing instance is <see cref="StatusCode.NotFound"/>, an
/// operation the instance's state forbids <see cref="StatusCode.FailedPrecondition"/>, an id in use
/// <see cref="StatusCode.AlreadyExists"/>, bad arguments <see cref="StatusCode.InvalidArgument"/>, a start of an
/// orchestrator no worker runs <see cref="StatusCode.NotFound"/>. Entities are not
/// supported (<see cref="StatusCode.Unimplemented"/>).
/// </remarks>
public sealed class TaskHubSidecar : P.TaskHubSidecarService.TaskHubSidecarServiceBase, IAsyncDisposable
{
    private const int HistoryChunkSize = 200;
    private readonly OrchestrationServiceDurableTaskClient _client;
    private readonly Func<string, bool> _orchestratorExists;

    /// <summary>Creates the sidecar over <paramref name="client"/>, its work items served by <paramref name="workItems"/>.</summary>
    /// <param name="client">The backend's client side.</param>
    /// <param name="options">How the backend's client polls, rewinds and tells time; its data converter is not used.</param>
    /// <param name="workItems">The work-item streams of the gRPC workers that connect; none are served when null.</param>
    /// <param name="orchestratorExists">
    /// Whether an orchestrator name can run on this task hub's workers: a start of a name it refuses is answered
    /// <see cref="StatusCode.NotFound"/>. Every name can when null.
    /// </param>
    public TaskHubSidecar(IOrchestrationServiceClient client, OrchestrationServiceClientOptions options, WorkItemStreams? workItems = null, Func<string, bool>? orchestratorExists = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _client = new OrchestrationServiceDurableTaskClient(client, new OrchestrationServiceClientOptions
        {
            DataConverter = PassThroughDataConverter.Instance,
            TimeProvider = options.TimeProvider,
            StatusPollingInterval = options.StatusPollingInterval,
            Rewind = options.Rewind,
        });
        WorkItems = workItems;
        _orchestratorExists = orchestratorExists ?? (static _ => true);
    }

    /// <summary>The work-item streams this sidecar serves, or null.</summary>
    public WorkItemStreams? WorkItems { get; }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _client.DisposeAsync();

    /// <inheritdoc />
    public override Task<Empty> Hello(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    /// <inheritdoc />
    public override Task<P.CreateInstanceResponse> StartInstance(P.CreateInstanceRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_orchestratorExists(request.Name))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No orchestrator named '{request.Name}' is registered with this task hub's workers."));
        }

        var options = new StartOrchestrationOptions(
            string.IsNullOrEmpty(request.InstanceId) ? null : request.InstanceId,
            request.ScheduledStartTimestamp?.ToDateTimeOffset())
        {
            Version = string.IsNullOrEmpty(request.Version) ? null : new TaskVersion(request.Version),
            Tags = request.Tags.ToDictionary(tag => tag.Key, tag => tag.Value, StringComparer.Ordinal),
            DedupeStatuses = request.OrchestrationIdReusePolicy is { } policy ? DedupeStatuses(policy) : null,
        };
        string id = await _client.ScheduleNewOrchestrationInstanceAsync(request.Name, request.Input, options, context.CancellationToken).ConfigureAwait(false);
        return new P.CreateInstanceResponse { InstanceId = id };
    });

    /// <inheritdoc />
    public override Task<P.GetInstanceResponse> GetInstance(P.GetInstanceRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        OrchestrationMetadata? metadata = await _client.GetInstancesAsync(request.InstanceId, request.GetInputsAndOutputs, context.CancellationToken).ConfigureAwait(false);
        return Found(metadata);
    });

    /// <inheritdoc />
    public override Task<P.GetInstanceResponse> WaitForInstanceStart(P.GetInstanceRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        return Found(await _client.WaitForInstanceStartAsync(request.InstanceId, request.GetInputsAndOutputs, context.CancellationToken).ConfigureAwait(false));
    });

    /// <inheritdoc />
    public override Task<P.GetInstanceResponse> WaitForInstanceCompletion(P.GetInstanceRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        return Found(await _client.WaitForInstanceCompletionAsync(request.InstanceId, request.GetInputsAndOutputs, context.CancellationToken).ConfigureAwait(false));
    });

    /// <inheritdoc />
    public override Task<P.RaiseEventResponse> RaiseEvent(P.RaiseEventRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        await _client.RaiseEventAsync(request.InstanceId, request.Name, request.Input, context.CancellationToken).ConfigureAwait(false);
        return new P.RaiseEventResponse();
    });

    /// <inheritdoc />
    public override Task<P.TerminateResponse> TerminateInstance(P.TerminateRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        await _client.TerminateInstanceAsync(request.InstanceId, new TerminateInstanceOptions(request.Output, request.Recursive), context.CancellationToken).ConfigureAwait(false);
        return new P.TerminateResponse();
    });

    /// <inheritdoc />
    public override Task<P.SuspendResponse> SuspendInstance(P.SuspendRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        await _client.SuspendInstanceAsync(request.InstanceId, request.Reason, context.CancellationToken).ConfigureAwait(false);
        return new P.SuspendResponse();
    });

    /// <inheritdoc />
    public override Task<P.ResumeResponse> ResumeInstance(P.ResumeRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        await _client.ResumeInstanceAsync(request.InstanceId, request.Reason, context.CancellationToken).ConfigureAwait(false);
        return new P.ResumeResponse();
    });

    /// <inheritdoc />
    public override Task<P.RestartInstanceResponse> RestartInstance(P.RestartInstanceRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        string id = await _client.RestartAsync(request.InstanceId, request.RestartWithNewInstanceId, context.CancellationToken).ConfigureAwait(false);
        return new P.RestartInstanceResponse { InstanceId = id };
    });

    /// <inheritdoc />
    public override Task<P.RewindInstanceResponse> RewindInstance(P.RewindInstanceRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        await _client.RewindInstanceAsync(request.InstanceId, request.Reason, context.CancellationToken).ConfigureAwait(false);
        return new P.RewindInstanceResponse();
    });

    /// <inheritdoc />
    public override Task<P.QueryInstancesResponse> QueryInstances(P.QueryInstancesRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        P.InstanceQuery query = request.Query ?? new P.InstanceQuery();
        var filter = new OrchestrationQuery
        {
            CreatedFrom = query.CreatedTimeFrom?.ToDateTimeOffset(),
            CreatedTo = query.CreatedTimeTo?.ToDateTimeOffset(),
            Statuses = query.RuntimeStatus.Count == 0 ? null : [.. query.RuntimeStatus.Select(status => (SdkStatus)(int)status)],
            TaskHubNames = query.TaskHubNames.Count == 0 ? null : [.. query.TaskHubNames],
            PageSize = query.MaxInstanceCount > 0 ? query.MaxInstanceCount : OrchestrationQuery.DefaultPageSize,
            FetchInputsAndOutputs = query.FetchInputsAndOutputs,
            ContinuationToken = string.IsNullOrEmpty(query.ContinuationToken) ? null : query.ContinuationToken,
            InstanceIdPrefix = string.IsNullOrEmpty(query.InstanceIdPrefix) ? null : query.InstanceIdPrefix,
        };
        var response = new P.QueryInstancesResponse();
        await foreach (Page<OrchestrationMetadata> page in _client.GetAllInstancesAsync(filter).AsPages(filter.ContinuationToken, filter.PageSize).WithCancellation(context.CancellationToken).ConfigureAwait(false))
        {
            response.OrchestrationState.AddRange(page.Values.Select(ToProto));
            response.ContinuationToken = page.ContinuationToken;
            break;
        }

        return response;
    });

    /// <inheritdoc />
    public override Task<P.PurgeInstancesResponse> PurgeInstances(P.PurgeInstancesRequest request, ServerCallContext context) => Answer(async () =>
    {
        ArgumentNullException.ThrowIfNull(request);
        var options = new PurgeInstanceOptions(request.Recursive);
        Microsoft.DurableTask.Client.PurgeResult result = request.RequestCase switch
        {
            P.PurgeInstancesRequest.RequestOneofCase.InstanceId =>
                await _client.PurgeInstanceAsync(request.InstanceId, options, context.CancellationToken).ConfigureAwait(false),
            P.PurgeInstancesRequest.RequestOneofCase.PurgeInstanceFilter =>
                await _client.PurgeAllInstancesAsync(
                    new PurgeInstancesFilter(
                        request.PurgeInstanceFilter.CreatedTimeFrom?.ToDateTimeOffset(),
                        request.PurgeInstanceFilter.CreatedTimeTo?.ToDateTimeOffset(),
                        request.PurgeInstanceFilter.RuntimeStatus.Count == 0 ? null : [.. request.PurgeInstanceFilter.RuntimeStatus.Select(status => (SdkStatus)(int)status)]),
                    options,
                    context.CancellationToken).ConfigureAwait(false),
            _ => throw new ArgumentException("A purge names an instance id or a filter.", nameof(request)),
        };
        return new P.PurgeInstancesResponse { DeletedInstanceCount = result.PurgedInstanceCount, IsComplete = true };
    });

    /// <inheritdoc />
    public override async Task StreamInstanceHistory(P.StreamInstanceHistoryRequest request, IServerStreamWriter<P.HistoryChunk> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        IList<global::DurableTask.Core.History.HistoryEvent> history = await Answer(
            () => _client.GetOrchestrationHistoryAsync(request.InstanceId, context.CancellationToken)).ConfigureAwait(false);
        foreach (global::DurableTask.Core.History.HistoryEvent[] chunk in history.Chunk(HistoryChunkSize))
        {
            var message = new P.HistoryChunk();
            message.Events.AddRange(chunk.Select(RemoteDispatch.ToProto));
            await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override Task GetWorkItems(P.GetWorkItemsRequest request, IServerStreamWriter<P.WorkItem> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return WorkItems is { } streams
            ? streams.ServeAsync(responseStream, context.CancellationToken)
            : throw new RpcException(new Status(StatusCode.Unimplemented, "This sidecar runs no gRPC workers."));
    }

    /// <inheritdoc />
    public override Task<P.CompleteTaskResponse> CompleteOrchestratorTask(P.OrchestratorResponse request, ServerCallContext context) =>
        Complete(streams => streams.CompleteOrchestration(request));

    /// <inheritdoc />
    public override Task<P.CompleteTaskResponse> CompleteActivityTask(P.ActivityResponse request, ServerCallContext context) =>
        Complete(streams => streams.CompleteActivity(request));

    /// <inheritdoc />
    public override Task<P.AbandonOrchestrationTaskResponse> AbandonTaskOrchestratorWorkItem(P.AbandonOrchestrationTaskRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        Complete(streams => streams.Abandon(request.CompletionToken));
        return Task.FromResult(new P.AbandonOrchestrationTaskResponse());
    }

    /// <inheritdoc />
    public override Task<P.AbandonActivityTaskResponse> AbandonTaskActivityWorkItem(P.AbandonActivityTaskRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        Complete(streams => streams.Abandon(request.CompletionToken));
        return Task.FromResult(new P.AbandonActivityTaskResponse());
    }

    /// <summary>The statuses a start must not replace: every status the reuse policy does not name as replaceable.</summary>
    internal static IReadOnlyList<string> DedupeStatuses(P.OrchestrationIdReusePolicy policy)
    {
        SdkStatus[] all = [SdkStatus.Pending, SdkStatus.Running, SdkStatus.Suspended, SdkStatus.Completed, SdkStatus.Failed, SdkStatus.Terminated];
        var replaceable = policy.ReplaceableStatus.Select(status => (SdkStatus)(int)status).ToHashSet();
        return [.. all.Where(status => !replaceable.Contains(status)).Select(status => status.ToString())];
    }

    internal static P.OrchestrationState ToProto(OrchestrationMetadata metadata)
    {
        var state = new P.OrchestrationState
        {
            InstanceId = metadata.InstanceId,
            Name = metadata.Name,
            OrchestrationStatus = (P.OrchestrationStatus)(int)metadata.RuntimeStatus,
            CreatedTimestamp = Timestamp.FromDateTimeOffset(metadata.CreatedAt),
            LastUpdatedTimestamp = Timestamp.FromDateTimeOffset(metadata.LastUpdatedAt),
            Input = metadata.SerializedInput,
            Output = metadata.SerializedOutput,
            CustomStatus = metadata.SerializedCustomStatus,
            FailureDetails = ToProto(metadata.FailureDetails),
        };
        foreach (KeyValuePair<string, string> tag in metadata.Tags ?? new Dictionary<string, string>())
        {
            state.Tags[tag.Key] = tag.Value;
        }

        return state;
    }

    private static P.TaskFailureDetails? ToProto(TaskFailureDetails? failure) => failure is null ? null : new P.TaskFailureDetails
    {
        ErrorType = failure.ErrorType,
        ErrorMessage = failure.ErrorMessage,
        StackTrace = failure.StackTrace,
        InnerFailure = ToProto(failure.InnerFailure),
    };

    private static P.GetInstanceResponse Found(OrchestrationMetadata? metadata) =>
        metadata is null ? new P.GetInstanceResponse { Exists = false } : new P.GetInstanceResponse { Exists = true, OrchestrationState = ToProto(metadata) };

    private Task<P.CompleteTaskResponse> Complete(Action<WorkItemStreams> complete)
    {
        if (WorkItems is not { } streams)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "This sidecar runs no gRPC workers."));
        }

        complete(streams);
        return Task.FromResult(new P.CompleteTaskResponse());
    }

    /// <summary>Runs a client operation, turning the client's exceptions into the gRPC statuses the SDK clients expect.</summary>
    private static async Task<T> Answer<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (OrchestrationAlreadyExistsException exception)
        {
            throw new RpcException(new Status(StatusCode.AlreadyExists, exception.Message));
        }
        catch (ArgumentException exception)
        {
            throw new RpcException(new Status(exception.Message.Contains("No orchestration instance", StringComparison.Ordinal) ? StatusCode.NotFound : StatusCode.InvalidArgument, exception.Message));
        }
        catch (InvalidOperationException exception)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, exception.Message));
        }
    }
}
