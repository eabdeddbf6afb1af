using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Microsoft.Extensions.Logging;
using MessageType = Microsoft.Azure.WebJobs.Script.Grpc.Messages.StreamingMessage.ContentOneofCase;

namespace Workflows.Host.Rpc;

/// <summary>
/// One worker process and its event stream: messages to the worker go through one writer; from the worker, logs go to
/// the log, invocation responses complete their invocations, and everything else waits for the handshake to read it.
/// It ends once, for good, when the process exits or the stream ends; in-flight invocations then fail with the reason.
/// </summary>
internal sealed class WorkerSession
{
    private readonly Channel<StreamingMessage> _outgoing = Channel.CreateUnbounded<StreamingMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<StreamingMessage> _control = Channel.CreateUnbounded<StreamingMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly ConcurrentDictionary<string, PendingInvocation> _pending = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<string, ILogger> _loggers;
    private readonly ILogger _logger;
    private readonly Action<WorkerSession> _onEnded;
    private Exception? _failure;
    private int _attached;
    private volatile bool _handshakeDone;

    public WorkerSession(string workerId, Func<string, ILogger> loggers, ILogger logger, Action<WorkerSession> onEnded)
    {
        WorkerId = workerId;
        _loggers = loggers;
        _logger = logger;
        _onEnded = onEnded;
    }

    /// <summary>The id the host gave the worker on its command line; its StartStream must name it.</summary>
    public string WorkerId { get; }

    /// <summary>The worker's process, once started.</summary>
    public WorkerProcess? Process { get; set; }

    /// <summary>The functions the worker loaded (empty until the handshake is done).</summary>
    public IReadOnlyList<WorkerFunction> Functions { get; set; } = [];

    /// <summary>The capabilities the worker announced in its WorkerInitResponse.</summary>
    public IReadOnlyDictionary<string, string> Capabilities { get; set; } = new Dictionary<string, string>();

    /// <summary>Completes when the worker has opened its stream (sent StartStream).</summary>
    public Task Connected => _connected.Task;

    /// <summary>Completes (never faults) when the session has ended; <see cref="Failure"/> says why.</summary>
    public Task Ended => _ended.Task;

    /// <summary>Why the session ended; null while it lives.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Serves the worker's stream (after its StartStream) until it ends.</summary>
    public async Task RunStreamAsync(IAsyncStreamReader<StreamingMessage> requests, IServerStreamWriter<StreamingMessage> responses, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _attached, 1) == 1)
        {
            // One stream per worker: the host does not announce MultiStream.
            LogUnknown();
            return;
        }

        _connected.TrySetResult();
        var writer = WriteAllAsync(responses, cancellationToken);
        try
        {
            while (await requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                Receive(requests.Current);
            }

            Fail(new WorkerExitedException($"Worker process {Process?.Id} closed its stream to the host."));
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or Grpc.Core.RpcException or InvalidOperationException)
        {
            Fail(new WorkerExitedException($"The stream of worker process {Process?.Id} broke: {exception.Message}", exception));
        }

        await writer.ConfigureAwait(false);
    }

    /// <summary>Queues <paramref name="message"/> for the worker; an ended session throws its <see cref="Failure"/>.</summary>
    public void Send(StreamingMessage message)
    {
        if (!_outgoing.Writer.TryWrite(message))
        {
            throw Failure ?? new WorkerExitedException("The worker's stream is closed.");
        }
    }

    /// <summary>The next message of type <paramref name="expected"/> that is not a log or an invocation response; an ended session throws its <see cref="Failure"/>.</summary>
    public async Task<StreamingMessage> ReceiveAsync(MessageType expected, CancellationToken cancellationToken)
    {
        while (true)
        {
            StreamingMessage message;
            try
            {
                message = await _control.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                throw Failure ?? new WorkerExitedException("The worker's stream is closed.");
            }

            if (message.ContentCase == expected)
            {
                return message;
            }

            WorkerChannelLog.Ignored(_logger, message.ContentCase.ToString());
        }
    }

    /// <summary>From now on, messages other than logs and invocation responses are logged and dropped, not kept for <see cref="ReceiveAsync"/>.</summary>
    public void HandshakeDone()
    {
        _handshakeDone = true;
        while (_control.Reader.TryRead(out var message))
        {
            WorkerChannelLog.Ignored(_logger, message.ContentCase.ToString());
        }
    }

    /// <summary>Sends <paramref name="request"/> and waits for its response; cancelling sends InvocationCancel and stops waiting.</summary>
    public async Task<InvocationResponse> InvokeAsync(InvocationRequest request, string functionName, CancellationToken cancellationToken)
    {
        var pending = new PendingInvocation(functionName);
        if (!_pending.TryAdd(request.InvocationId, pending))
        {
            throw new InvalidOperationException($"Invocation {request.InvocationId} is already in flight.");
        }

        if (Failure is { } failure)
        {
            _pending.TryRemove(request.InvocationId, out _);
            throw failure;
        }

        Send(new StreamingMessage { InvocationRequest = request });
        try
        {
            return await pending.Response.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (_pending.TryRemove(request.InvocationId, out _))
            {
                _outgoing.Writer.TryWrite(new StreamingMessage { InvocationCancel = new InvocationCancel { InvocationId = request.InvocationId } });
            }

            throw;
        }
    }

    /// <summary>Ends the session (the first reason wins): invocations in flight fail with <paramref name="reason"/>.</summary>
    public void Fail(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _failure, reason, null) is not null)
        {
            return;
        }

        _onEnded(this);
        _outgoing.Writer.TryComplete();
        _control.Writer.TryComplete();
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var pending))
            {
                pending.Response.TrySetException(reason);
            }
        }

        _ended.TrySetResult();
    }

    private void LogUnknown() => WorkerChannelLog.UnknownWorker(_logger, WorkerId);

    private async Task WriteAllAsync(IServerStreamWriter<StreamingMessage> responses, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in _outgoing.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await responses.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or Grpc.Core.RpcException or InvalidOperationException)
        {
            Fail(new WorkerExitedException($"The stream of worker process {Process?.Id} broke: {exception.Message}", exception));
        }
    }

    private void Receive(StreamingMessage message)
    {
        switch (message.ContentCase)
        {
            case MessageType.RpcLog:
                Log(message.RpcLog);
                break;
            case MessageType.InvocationResponse:
                if (_pending.TryRemove(message.InvocationResponse.InvocationId, out var pending))
                {
                    pending.Response.TrySetResult(message.InvocationResponse);
                }

                break;
            default:
                if (_handshakeDone)
                {
                    WorkerChannelLog.Ignored(_logger, message.ContentCase.ToString());
                }
                else
                {
                    _control.Writer.TryWrite(message);
                }

                break;
        }
    }

    private void Log(RpcLog log)
    {
        var level = log.Level switch
        {
            RpcLog.Types.Level.Trace => LogLevel.Trace,
            RpcLog.Types.Level.Debug => LogLevel.Debug,
            RpcLog.Types.Level.Information => LogLevel.Information,
            RpcLog.Types.Level.Warning => LogLevel.Warning,
            RpcLog.Types.Level.Error => LogLevel.Error,
            RpcLog.Types.Level.Critical => LogLevel.Critical,
            _ => LogLevel.None,
        };
        var logger = string.IsNullOrEmpty(log.Category) ? _logger : _loggers(log.Category);
        if (level == LogLevel.None || !logger.IsEnabled(level))
        {
            return;
        }

        var exception = log.Exception is { } thrown
            ? $"{Environment.NewLine}{thrown.Type}{(string.IsNullOrEmpty(thrown.Type) ? string.Empty : ": ")}{thrown.Message}{Environment.NewLine}{thrown.StackTrace}"
            : string.Empty;
        if (string.IsNullOrEmpty(log.InvocationId))
        {
            WorkerChannelLog.WorkerLog(logger, level, log.Message, exception);
            return;
        }

        var functionName = _pending.TryGetValue(log.InvocationId, out var pending) ? pending.FunctionName : null;
        using (logger.BeginScope(new Dictionary<string, object?> { ["FunctionName"] = functionName, ["InvocationId"] = log.InvocationId }))
        {
            WorkerChannelLog.WorkerLog(logger, level, log.Message, exception);
        }
    }

    private sealed class PendingInvocation(string functionName)
    {
        public string FunctionName { get; } = functionName;

        public TaskCompletionSource<InvocationResponse> Response { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
