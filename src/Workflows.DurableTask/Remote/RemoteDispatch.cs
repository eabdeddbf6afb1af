using System.Text.Json;
using DurableTask.Core;
using DurableTask.Core.Command;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using DurableTask.Core.Middleware;
using Google.Protobuf.WellKnownTypes;
using OrchestratorRequest = Microsoft.DurableTask.Protobuf.OrchestratorRequest;
using Proto = Microsoft.DurableTask.Protobuf;
using OrchestratorResponse = Microsoft.DurableTask.Protobuf.OrchestratorResponse;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Workflows.DurableTask.Hosting;

namespace Workflows.DurableTask.Remote;

/// <summary>
/// DTFx dispatcher middlewares that hand every orchestration episode and activity to an
/// <see cref="IRemoteTaskRunner"/> instead of running code in this process, as the Durable Functions extension does for
/// isolated workers: the episode's whole history goes out as an <see cref="OrchestratorRequest"/> (no state is kept
/// between episodes, so extended sessions only spare the backend's reads), and the response's actions and custom status
/// become the episode's result. A worker that is unavailable abandons the work item (<see cref="SessionAbortedException"/>);
/// an unknown name, or a runner that throws anything else, fails the instance or the task with a readable reason.
/// </summary>
internal sealed class RemoteDispatch(IRemoteTaskRunner runner, TimeSpan? sessionIdleTimeout, CancellationToken stopping)
{
    public async Task OrchestrateAsync(DispatchMiddlewareContext context, Func<Task> next)
    {
        // The work item's state holds the whole history; in an extended session's later episodes DTFx hands the
        // middleware its cursor's state, which the in-process executor completes from memory.
        OrchestrationRuntimeState? state = context.GetProperty<TaskOrchestrationWorkItem>()?.OrchestrationRuntimeState
            ?? context.GetProperty<OrchestrationRuntimeState>();
        if (state?.OrchestrationInstance is not { } instance)
        {
            context.SetProperty(Failed("InvalidOperationException", "The episode reached the dispatcher without its runtime state.", null));
            return;
        }

        string name = state.Name;
        if (!runner.HasOrchestrator(name))
        {
            context.SetProperty(Failed(nameof(TaskNotRegisteredException), $"No orchestrator named '{name}' is registered with this worker.", null));
            return;
        }

        // In an extended session the worker may keep the orchestration in memory between episodes (the Durable Task
        // SDK's extended sessions): the episodes after the first send only their new events, unless the worker says it
        // no longer has the state, and then the whole history goes again.
        WorkItemMetadata? metadata = context.GetProperty<WorkItemMetadata>();
        bool session = sessionIdleTimeout is not null && metadata?.IsExtendedSession == true;
        bool includeState = !session || metadata!.IncludeState;
        var (response, failure) = await CallAsync(() => runner.RunOrchestratorAsync(name, Request(instance, state, session, includeState), stopping)).ConfigureAwait(false);
        if (failure is null && response!.RequiresHistory)
        {
            (response, failure) = await CallAsync(() => runner.RunOrchestratorAsync(name, Request(instance, state, session, includeState: true), stopping)).ConfigureAwait(false);
        }

        context.SetProperty(failure is not null
            ? Failed(failure.GetType().Name, $"Orchestrator '{name}' failed in its worker: {failure.Message}", failure.StackTrace)
            : new OrchestratorExecutionResult
            {
                Actions = [.. response!.Actions.Select(ProtobufUtils.ToOrchestratorAction)],
                CustomStatus = response.CustomStatus,
            });
    }

    public async Task RunActivityAsync(DispatchMiddlewareContext context, Func<Task> next)
    {
        TaskScheduledEvent? scheduled = context.GetProperty<TaskScheduledEvent>();
        OrchestrationInstance? instance = context.GetProperty<OrchestrationInstance>();
        if (scheduled?.Name is not { } name || instance is null)
        {
            throw new InvalidOperationException("An activity reached the dispatcher without its scheduling event.");
        }

        RemoteActivityResult result;
        if (!runner.HasActivity(name))
        {
            string message = $"No activity named '{name}' is registered with this worker.";
            result = RemoteActivityResult.Failed(new FailureDetails(nameof(TaskNotRegisteredException), message, null, null, isNonRetriable: true));
        }
        else
        {
            var request = new RemoteActivityRequest(name, instance.InstanceId, scheduled.EventId, SingleParameter(scheduled.Input));
            var (ran, thrown) = await CallAsync(() => runner.RunActivityAsync(request, stopping)).ConfigureAwait(false);
            result = thrown is null ? ran! : RemoteActivityResult.Failed(new FailureDetails(thrown));
        }

        HistoryEvent response = result.Failure is { } failure
            ? new TaskFailedEvent(-1, scheduled.EventId, failure.ErrorMessage, null, failure)
            : new TaskCompletedEvent(-1, scheduled.EventId, result.Output);
        context.SetProperty(new ActivityExecutionResult { ResponseEvent = response });
    }

    /// <summary>
    /// The episode's request: the whole history (past and new events), or, when the worker keeps the session's state,
    /// the new events alone; in a session, the properties that tell the worker so.
    /// </summary>
    private OrchestratorRequest Request(OrchestrationInstance instance, OrchestrationRuntimeState state, bool session, bool includeState)
    {
        var request = new OrchestratorRequest { InstanceId = instance.InstanceId, ExecutionId = instance.ExecutionId };
        if (includeState)
        {
            // Events is the whole history; an extended session's state can hold past events that its PastEvents lacks.
            int past = state.Events.Count - state.NewEvents.Count;
            request.PastEvents.AddRange(state.Events.Take(past).Select(ToProto));
        }

        request.NewEvents.AddRange(state.NewEvents.Select(ToProto));
        if (session)
        {
            request.Properties["IsExtendedSession"] = Value.ForBool(true);
            request.Properties["IncludeState"] = Value.ForBool(includeState);
            request.Properties["ExtendedSessionIdleTimeoutInSeconds"] = Value.ForNumber(sessionIdleTimeout!.Value.TotalSeconds);
        }

        return request;
    }

    /// <summary>
    /// Calls the runner: its answer, or the exception that is the work's failure. A worker that is unavailable, or a
    /// stop that cancels the call, abandons the work item instead (<see cref="SessionAbortedException"/>).
    /// </summary>
    private async Task<(T? Answer, Exception? Failure)> CallAsync<T>(Func<Task<T>> call)
        where T : class
    {
        try
        {
            return (await call().ConfigureAwait(false), null);
        }
        catch (RemoteWorkerUnavailableException exception)
        {
            throw new SessionAbortedException(exception.Message, exception);
        }
        catch (OperationCanceledException exception) when (stopping.IsCancellationRequested)
        {
            throw new SessionAbortedException("The worker is stopping.", exception);
        }
#pragma warning disable CA1031 // Whatever else the runner throws is the work's failure.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            return (null, exception);
        }
    }

    /// <summary>
    /// One history event in the protocol's form: the Durable Task SDK's converter, plus the rewind marker a rewound
    /// instance keeps in its history, which that converter does not know.
    /// </summary>
    internal static Proto.HistoryEvent ToProto(HistoryEvent historyEvent) => historyEvent is ExecutionRewoundEvent rewound
        ? new Proto.HistoryEvent
        {
            EventId = rewound.EventId,
            Timestamp = Timestamp.FromDateTime(DateTime.SpecifyKind(rewound.Timestamp, DateTimeKind.Utc)),
            ExecutionRewound = new Proto.ExecutionRewoundEvent { Reason = rewound.Reason },
        }
        : ProtobufUtils.ToHistoryEventProto(historyEvent);

    /// <summary>
    /// The activity's input as its code reads it: DTFx schedules a task with an array of parameters, so the SDK's one
    /// input arrives as a one-element array, which a worker expects unwrapped (the Durable Functions extension unwraps it
    /// for isolated workers, the SDK's activity shim for gRPC workers).
    /// </summary>
    internal static string? SingleParameter(string? input)
    {
        if (input is null || input.Length == 0 || input[0] != '[')
        {
            return input;
        }

        using var document = JsonDocument.Parse(input);
        return document.RootElement.GetArrayLength() == 1 ? document.RootElement[0].GetRawText() : input;
    }

    private static OrchestratorExecutionResult Failed(string errorType, string message, string? stackTrace) => new()
    {
        Actions =
        [
            new OrchestrationCompleteOrchestratorAction
            {
                OrchestrationStatus = OrchestrationStatus.Failed,
                Result = message,
                FailureDetails = new FailureDetails(errorType, message, stackTrace, null, isNonRetriable: true),
            },
        ],
    };
}
