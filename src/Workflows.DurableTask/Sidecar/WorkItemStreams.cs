using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Workflows.DurableTask.Remote;
using P = Microsoft.DurableTask.Protobuf;

namespace Workflows.DurableTask.Sidecar;

/// <summary>
/// The work-item streams of connected gRPC workers as an <see cref="IRemoteTaskRunner"/>: an episode or activity goes to
/// one connected worker (in turn) with a completion token, and its task ends when that worker completes or abandons it.
/// With no worker connected, or when the worker's stream ends first, the work is unavailable
/// (<see cref="RemoteWorkerUnavailableException"/>) and the backend delivers it again later.
/// </summary>
public sealed class WorkItemStreams : IRemoteTaskRunner
{
    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly List<Connection> _connections = [];
    private readonly Lock _gate = new();
    private int _next;
    private bool _closed;
    private bool _everConnected;

    /// <summary>How many workers are connected now.</summary>
    public int ConnectedWorkers
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>
    /// Whether a worker has connected since this task hub started: from then on a name no other runner has is taken to
    /// be a gRPC worker's, and its work waits for one to connect (again) rather than failing.
    /// </summary>
    public bool EverConnected
    {
        get
        {
            lock (_gate)
            {
                return _everConnected;
            }
        }
    }

    /// <summary>Any name: a gRPC worker does not declare what it runs, and reports an unknown name as a failure.</summary>
    public bool HasOrchestrator(string name) => true;

    /// <inheritdoc cref="HasOrchestrator"/>
    public bool HasActivity(string name) => true;

    /// <inheritdoc />
    public async Task<P.OrchestratorResponse> RunOrchestratorAsync(string name, P.OrchestratorRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Properties.TryGetValue("IncludeState", out var includeState) && !includeState.BoolValue)
        {
            // A worker of the Durable Task SDK keeps no orchestration between work items: an extended session's later
            // episode, which carries its new events alone, is asked for again with the whole history.
            return new P.OrchestratorResponse { InstanceId = request.InstanceId, RequiresHistory = true };
        }

        object result = await SendAsync(token => new P.WorkItem { OrchestratorRequest = request, CompletionToken = token }, cancellationToken).ConfigureAwait(false);
        return (P.OrchestratorResponse)result;
    }

    /// <inheritdoc />
    public async Task<RemoteActivityResult> RunActivityAsync(RemoteActivityRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var activity = new P.ActivityRequest
        {
            Name = request.Name,
            Input = request.Input,
            TaskId = request.TaskId,
            OrchestrationInstance = new P.OrchestrationInstance { InstanceId = request.InstanceId },
        };
        var response = (P.ActivityResponse)await SendAsync(token => new P.WorkItem { ActivityRequest = activity, CompletionToken = token }, cancellationToken).ConfigureAwait(false);
        return response.FailureDetails is { } failure
            ? RemoteActivityResult.Failed(ToCore(failure))
            : RemoteActivityResult.Completed(response.Result);
    }

    /// <summary>Serves one worker's stream until it disconnects or <see cref="Close"/> is called; what it held and had not completed runs again elsewhere.</summary>
    public async Task ServeAsync(IAsyncStreamWriter<P.WorkItem> stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var connection = new Connection();
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _connections.Add(connection);
            _everConnected = true;
        }

        try
        {
            await foreach (P.WorkItem item in connection.Queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await stream.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The worker went away.
        }
        finally
        {
            lock (_gate)
            {
                _connections.Remove(connection);
            }

            connection.Queue.Writer.TryComplete();
            foreach (KeyValuePair<string, Pending> pending in _pending)
            {
                if (pending.Value.Connection == connection && _pending.TryRemove(pending.Key, out Pending? gone))
                {
                    gone.Result.TrySetException(new RemoteWorkerUnavailableException("The gRPC worker disconnected before completing its work item."));
                }
            }
        }
    }

    /// <summary>
    /// Ends every worker's stream and serves no new ones (the sidecar is stopping): the work items they held and had not
    /// completed are unavailable, and run again when the backend delivers them next.
    /// </summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            foreach (Connection connection in _connections)
            {
                connection.Queue.Writer.TryComplete();
            }
        }
    }

    /// <summary>Completes an episode.</summary>
    public void CompleteOrchestration(P.OrchestratorResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        Finish(response.CompletionToken, response);
    }

    /// <summary>Completes an activity.</summary>
    public void CompleteActivity(P.ActivityResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        Finish(response.CompletionToken, response);
    }

    /// <summary>Gives a work item back: it runs again later.</summary>
    public void Abandon(string completionToken)
    {
        if (_pending.TryRemove(completionToken ?? string.Empty, out Pending? pending))
        {
            pending.Result.TrySetException(new RemoteWorkerUnavailableException("The gRPC worker abandoned the work item."));
        }
    }

    private void Finish(string token, object response)
    {
        if (!_pending.TryRemove(token ?? string.Empty, out Pending? pending))
        {
            throw UnknownToken(token);
        }

        pending.Result.TrySetResult(response);
    }

    private static global::DurableTask.Core.FailureDetails ToCore(P.TaskFailureDetails failure) =>
        new(failure.ErrorType, failure.ErrorMessage, failure.StackTrace, failure.InnerFailure is { } inner ? ToCore(inner) : null, failure.IsNonRetriable);

    private static RpcException UnknownToken(string? token) =>
        new(new Status(StatusCode.NotFound, $"No work item with completion token '{token}' is outstanding; it may have been abandoned."));

    private async Task<object> SendAsync(Func<string, P.WorkItem> create, CancellationToken cancellationToken)
    {
        Connection connection;
        lock (_gate)
        {
            if (_connections.Count == 0)
            {
                throw new RemoteWorkerUnavailableException("No gRPC worker is connected.");
            }

            connection = _connections[_next++ % _connections.Count];
        }

        string token = Guid.NewGuid().ToString("N");
        var pending = new Pending(connection);
        _pending[token] = pending;
        if (!connection.Queue.Writer.TryWrite(create(token)))
        {
            _pending.TryRemove(token, out _);
            throw new RemoteWorkerUnavailableException("The gRPC worker disconnected.");
        }

        try
        {
            return await pending.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(token, out _);
        }
    }

    private sealed class Connection
    {
        public Channel<P.WorkItem> Queue { get; } = Channel.CreateUnbounded<P.WorkItem>(new UnboundedChannelOptions { SingleReader = true });
    }

    private sealed class Pending(Connection connection)
    {
        public Connection Connection { get; } = connection;

        public TaskCompletionSource<object> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
