using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MessageType = Microsoft.Azure.WebJobs.Script.Grpc.Messages.StreamingMessage.ContentOneofCase;

namespace Workflows.Host.Rpc;

/// <summary>
/// Runs an isolated-worker app's own worker process and speaks the Functions host protocol with it, as the Azure
/// Functions host does (docs/decisions/0024-functions-host-protocol.md): a gRPC server on 127.0.0.1 serves
/// <c>FunctionRpc.EventStream</c>; the worker, started from the app's <c>worker.config.json</c>, connects back with
/// StartStream; the host initializes it, asks it for its functions (worker indexing) and loads them; invocations then
/// go out and their responses come back by invocation id. A worker that dies fails its in-flight invocations with
/// <see cref="WorkerExitedException"/> and is restarted after a bounded backoff.
/// </summary>
internal sealed class WorkerChannel : IAsyncDisposable
{
    /// <summary>The <c>FUNCTIONS_WORKER_RUNTIME</c> of the apps this host runs.</summary>
    public const string WorkerRuntime = "dotnet-isolated";

    private readonly WorkerChannelOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, ILogger> _workerLoggers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WorkerSession> _connecting = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource<WorkerSession> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WorkerSession? _current;
    private WebApplication? _server;
    private Task? _supervisor;
    private int _started;
    private int _stopped;
    private readonly string _workingDirectory;
    private readonly WorkerRecords _records;

    public WorkerChannel(WorkerChannelOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<WorkerChannel>();
        AppDirectory = Path.GetFullPath(options.AppDirectory);
        _workingDirectory = Path.GetFullPath(options.WorkingDirectory ?? options.AppDirectory);
        _records = new WorkerRecords(_workingDirectory, _logger);
    }

    /// <summary>The app folder, as a full path.</summary>
    public string AppDirectory { get; }

    /// <summary>The host's gRPC endpoint the worker connects to (set by <see cref="StartAsync"/>).</summary>
    public Uri? Address { get; private set; }

    /// <summary>The current worker's loaded functions; empty before the first worker is ready.</summary>
    public IReadOnlyList<WorkerFunction> Functions => Volatile.Read(ref _current)?.Functions ?? [];

    /// <summary>The capabilities the current worker announced (e.g. <c>HttpUri</c>, where its ASP.NET Core integration listens).</summary>
    public IReadOnlyDictionary<string, string> WorkerCapabilities => Volatile.Read(ref _current)?.Capabilities ?? new Dictionary<string, string>();

    /// <summary>The current worker's process id; null before the first worker is ready.</summary>
    public int? ProcessId => Volatile.Read(ref _current)?.Process?.Id;

    /// <summary>
    /// Starts the gRPC server and the first worker, and returns when its functions are loaded; a worker that cannot be
    /// started is a <see cref="WorkerStartException"/> naming the app folder and the reason.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) == 1, this);
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("The worker channel has been started already.");
        }

        try
        {
            // Read before the server starts so that a missing app or config fails fast.
            WorkerLaunch.Read(AppDirectory);
            _records.StopOrphans();
            _server = await StartServerAsync(cancellationToken).ConfigureAwait(false);
            using var starting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            var session = await StartWorkerAsync(starting.Token).ConfigureAwait(false);
            _supervisor = SuperviseAsync(session, _stopping.Token);
        }
        catch (Exception exception)
        {
            // Whoever waits for a worker learns why there is none.
            lock (_gate)
            {
                _ready.TrySetException(exception);
            }

            await StopServerAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Waits until a worker is ready (after a restart, the new one); fails when the channel stops.</summary>
    public async Task WaitUntilReadyAsync(CancellationToken cancellationToken) =>
        await ReadySessionAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Invokes function <paramref name="functionName"/> with <paramref name="inputData"/> (the trigger's data named
    /// after its parameter, and any other input bindings) and <paramref name="triggerMetadata"/>, waiting for a ready
    /// worker first; a worker that dies before answering fails it with <see cref="WorkerExitedException"/>.
    /// </summary>
    public async Task<InvocationResponse> InvokeAsync(
        string functionName,
        IEnumerable<ParameterBinding> inputData,
        IReadOnlyDictionary<string, TypedData>? triggerMetadata,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputData);
        var session = await ReadySessionAsync(cancellationToken).ConfigureAwait(false);
        var function = session.Functions.FirstOrDefault(candidate => string.Equals(candidate.Name, functionName, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"The worker has no function '{functionName}'.", nameof(functionName));
        var request = new InvocationRequest
        {
            InvocationId = Guid.NewGuid().ToString(),
            FunctionId = function.Id,
            TraceContext = new RpcTraceContext(),
        };
        request.InputData.Add(inputData);
        if (triggerMetadata is not null)
        {
            foreach (var (name, value) in triggerMetadata)
            {
                request.TriggerMetadata[name] = value;
            }
        }

        return await session.InvokeAsync(request, function.Name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends <paramref name="request"/> as it is (its function id must be the current worker's) once a worker is
    /// ready, with an invocation id and an empty trace context added when missing, and waits for its response.
    /// </summary>
    public async Task<InvocationResponse> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var session = await ReadySessionAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(request.InvocationId))
        {
            request.InvocationId = Guid.NewGuid().ToString();
        }

        // The worker needs a trace context on every invocation; an empty one will do.
        request.TraceContext ??= new RpcTraceContext();
        var name = session.Functions.FirstOrDefault(function => function.Id == request.FunctionId)?.Name ?? request.FunctionId;
        return await session.InvokeAsync(request, name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the worker (WorkerTerminate, then a kill of its process tree after the grace period) and the server.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        // The supervisor first, so that no restart is under way (one is cancelled, its process killed) when the
        // current worker is told to go.
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_supervisor is not null)
        {
            await _supervisor.ConfigureAwait(false);
        }

        var session = Volatile.Read(ref _current);
        if (session is { Failure: null, Process: { } process })
        {
            try
            {
                session.Send(new StreamingMessage { WorkerTerminate = new WorkerTerminate { GracePeriod = Duration.FromTimeSpan(_options.StopGracePeriod) } });
                await process.Exited.WaitAsync(_options.StopGracePeriod, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                WorkerChannelLog.StopTimedOut(_logger, process.Id, _options.StopGracePeriod);
            }
            catch (WorkerExitedException)
            {
                // It went on its own.
            }
            catch (OperationCanceledException)
            {
                // No more patience: it is killed below.
            }
        }

        session?.Process?.Dispose();
        _records.Forget();
        session?.Fail(new WorkerExitedException("The worker channel stopped."));
        lock (_gate)
        {
            _ready.TrySetCanceled(CancellationToken.None);
        }

        await StopServerAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Serves one EventStream call: its first message must be the StartStream of a worker this channel started.</summary>
    internal async Task RunStreamAsync(IAsyncStreamReader<StreamingMessage> requests, IServerStreamWriter<StreamingMessage> responses, CancellationToken cancellationToken)
    {
        try
        {
            if (!await requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or Grpc.Core.RpcException)
        {
            return;
        }

        var first = requests.Current;
        if (first.ContentCase != MessageType.StartStream || !_connecting.TryGetValue(first.StartStream.WorkerId, out var session))
        {
            WorkerChannelLog.UnknownWorker(_logger, first.StartStream?.WorkerId ?? "(no StartStream)");
            return;
        }

        await session.RunStreamAsync(requests, responses, cancellationToken).ConfigureAwait(false);
    }

    private async Task<WorkerSession> ReadySessionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) == 1, this);
        if (Volatile.Read(ref _started) == 0)
        {
            throw new InvalidOperationException("The worker channel has not been started.");
        }

        Task<WorkerSession> ready;
        lock (_gate)
        {
            ready = _ready.Task;
        }

        return await ready.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StopServerAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _server, null) is { } server)
        {
            await server.StopAsync(cancellationToken).ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<WebApplication> StartServerAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(WorkerChannel).Assembly.GetName().Name });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton(_loggerFactory);
        builder.Services.AddLogging();
        builder.Services.AddRoutingCore();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = _options.StopGracePeriod);
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = _options.GrpcMaxMessageLength;
            grpc.MaxSendMessageSize = _options.GrpcMaxMessageLength;
        });
        builder.Services.AddSingleton(new FunctionRpcService(this));
        var app = builder.Build();
        app.UseRouting();
        app.MapGrpcService<FunctionRpcService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = new Uri(new Uri(address).GetLeftPart(UriPartial.Authority) + "/");
        return app;
    }

    private async Task<WorkerSession> StartWorkerAsync(CancellationToken cancellationToken)
    {
        var launch = WorkerLaunch.Read(AppDirectory);
        var workerId = Guid.NewGuid().ToString();
        var requestId = Guid.NewGuid().ToString();
        var session = new WorkerSession(workerId, WorkerLogger, _logger, OnSessionEnded);
        _connecting[workerId] = session;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HandshakeTimeout);
        try
        {
            WorkerChannelLog.Starting(_logger, AppDirectory, launch.ToString(), workerId);
            var process = WorkerProcess.Start(launch, HostArguments(workerId, requestId), WorkerEnvironment(), _workingDirectory, _logger);
            session.Process = process;
            _records.Record(process);
            _ = FailWhenExitedAsync(session, process);

            await Task.WhenAny(session.Connected, session.Ended).WaitAsync(timeout.Token).ConfigureAwait(false);
            if (session.Failure is { } failure)
            {
                throw failure;
            }

            await HandshakeAsync(session, requestId, timeout.Token).ConfigureAwait(false);
            lock (_gate)
            {
                if (session.Failure is null)
                {
                    Volatile.Write(ref _current, session);
                    if (_ready.Task.IsCompleted)
                    {
                        _ready = new TaskCompletionSource<WorkerSession>(TaskCreationOptions.RunContinuationsAsynchronously);
                    }

                    _ready.SetResult(session);
                }
            }

            if (session.Failure is { } lateFailure)
            {
                throw lateFailure;
            }

            WorkerChannelLog.Ready(_logger, process.Id, session.Functions.Count);
            return session;
        }
        catch (Exception exception) when (exception is not WorkerStartException && !cancellationToken.IsCancellationRequested)
        {
            await KillAsync(session).ConfigureAwait(false);
            var reason = exception switch
            {
                OperationCanceledException => WithOutput($"the worker did not connect and load its functions within {_options.HandshakeTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.", session.Process),
                WorkerExitedException => exception.Message, // with the worker's last output already
                _ => WithOutput(exception.Message, session.Process),
            };
            session.Fail(new WorkerExitedException(reason));
            throw new WorkerStartException(AppDirectory, reason, exception);
        }
        catch
        {
            await KillAsync(session).ConfigureAwait(false);
            session.Fail(new WorkerExitedException("The worker could not be started."));
            throw;
        }
        finally
        {
            _connecting.TryRemove(workerId, out _);
        }
    }

    private async Task HandshakeAsync(WorkerSession session, string requestId, CancellationToken cancellationToken)
    {
        var init = new WorkerInitRequest
        {
            HostVersion = typeof(WorkerChannel).Assembly.GetName().Version?.ToString() ?? "4.0.0",
            WorkerDirectory = AppDirectory,
            FunctionAppDirectory = AppDirectory,
        };
        session.Send(new StreamingMessage { RequestId = requestId, WorkerInitRequest = init });
        var initResponse = (await session.ReceiveAsync(MessageType.WorkerInitResponse, cancellationToken).ConfigureAwait(false)).WorkerInitResponse;
        if (initResponse.Result?.Status != StatusResult.Types.Status.Success)
        {
            throw new WorkerStartException(AppDirectory, "the worker failed to initialize: " + Describe(initResponse.Result));
        }

        session.Capabilities = new Dictionary<string, string>(initResponse.Capabilities, StringComparer.Ordinal);

        session.Send(new StreamingMessage { RequestId = requestId, FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = AppDirectory } });
        var metadata = (await session.ReceiveAsync(MessageType.FunctionMetadataResponse, cancellationToken).ConfigureAwait(false)).FunctionMetadataResponse;
        if (metadata.Result is { Status: not StatusResult.Types.Status.Success })
        {
            throw new WorkerStartException(AppDirectory, "the worker failed to index its functions: " + Describe(metadata.Result));
        }

        if (metadata.UseDefaultMetadataIndexing)
        {
            throw new WorkerStartException(AppDirectory, "the worker asked the host to index its functions, and this host only runs workers that index their own (worker indexing).");
        }

        var loads = new List<FunctionLoadRequest>();
        foreach (var function in metadata.FunctionMetadataResults)
        {
            if (function.Status is { Status: not StatusResult.Types.Status.Success })
            {
                throw new WorkerStartException(AppDirectory, $"the worker failed to index function {function.Name}: {Describe(function.Status)}");
            }

            var id = string.IsNullOrEmpty(function.FunctionId) ? Guid.NewGuid().ToString() : function.FunctionId;
            var load = new FunctionLoadRequest { FunctionId = id, Metadata = function.Clone() };
            load.Metadata.FunctionId = id;
            load.Metadata.Status = null;
            loads.Add(load);
        }

        var functions = new List<WorkerFunction>(loads.Count);
        foreach (var load in loads)
        {
            try
            {
                functions.Add(WorkerFunction.From(load.Metadata, load.FunctionId));
            }
            catch (FormatException exception)
            {
                throw new WorkerStartException(AppDirectory, exception.Message, exception);
            }
        }

        foreach (var response in await LoadAsync(session, requestId, loads, cancellationToken).ConfigureAwait(false))
        {
            if (response.Result?.Status != StatusResult.Types.Status.Success)
            {
                var name = loads.FirstOrDefault(load => load.FunctionId == response.FunctionId)?.Metadata.Name ?? response.FunctionId;
                throw new WorkerStartException(AppDirectory, $"the worker failed to load function {name}: {Describe(response.Result)}");
            }
        }

        session.Functions = functions;
        session.HandshakeDone();
    }

    private static async Task<IReadOnlyList<FunctionLoadResponse>> LoadAsync(WorkerSession session, string requestId, List<FunctionLoadRequest> loads, CancellationToken cancellationToken)
    {
        if (loads.Count == 0)
        {
            return [];
        }

        if (session.Capabilities.ContainsKey("SupportsLoadResponseCollection"))
        {
            var collection = new FunctionLoadRequestCollection();
            collection.FunctionLoadRequests.Add(loads);
            session.Send(new StreamingMessage { RequestId = requestId, FunctionLoadRequestCollection = collection });
            var responses = (await session.ReceiveAsync(MessageType.FunctionLoadResponseCollection, cancellationToken).ConfigureAwait(false)).FunctionLoadResponseCollection;
            return [.. responses.FunctionLoadResponses];
        }

        foreach (var load in loads)
        {
            session.Send(new StreamingMessage { RequestId = requestId, FunctionLoadRequest = load });
        }

        var received = new List<FunctionLoadResponse>(loads.Count);
        while (received.Count < loads.Count)
        {
            received.Add((await session.ReceiveAsync(MessageType.FunctionLoadResponse, cancellationToken).ConfigureAwait(false)).FunctionLoadResponse);
        }

        return received;
    }

    private async Task SuperviseAsync(WorkerSession session, CancellationToken stopping)
    {
        while (true)
        {
            try
            {
                await session.Ended.WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // The process may still run when only its stream broke: a restart must not leave it behind.
            session.Process?.Dispose();
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    var delay = _options.RestartDelayFor(attempt);
                    WorkerChannelLog.Restarting(_logger, delay, attempt + 1);
                    await _options.Delay(delay, stopping).ConfigureAwait(false);
                    session = await StartWorkerAsync(stopping).ConfigureAwait(false);
                    break;
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (WorkerStartException exception)
                {
                    WorkerChannelLog.RestartFailed(_logger, exception);
                }
            }
        }
    }

    private async Task KillAsync(WorkerSession session)
    {
        if (session.Process is { } process)
        {
            await process.KillAsync(_options.StopGracePeriod).ConfigureAwait(false);
            process.Dispose();
        }
    }

    private static async Task FailWhenExitedAsync(WorkerSession session, WorkerProcess process)
    {
        int exitCode;
        try
        {
            exitCode = await process.Exited.ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is InvalidOperationException or OperationCanceledException)
        {
            session.Fail(new WorkerExitedException($"Worker process {process.Id} is gone: {exception.Message}", exception));
            return;
        }

        session.Fail(new WorkerExitedException(WithOutput($"worker process {process.Id} exited with code {exitCode.ToString(CultureInfo.InvariantCulture)}.", process)));
    }

    private void OnSessionEnded(WorkerSession session)
    {
        if (_stopping.IsCancellationRequested)
        {
            WorkerChannelLog.WorkerStopped(_logger, session.Process?.Id ?? 0, session.Failure?.Message ?? string.Empty);
        }
        else
        {
            WorkerChannelLog.WorkerGone(_logger, session.Process?.Id ?? 0, session.Failure?.Message ?? string.Empty);
        }

        lock (_gate)
        {
            if (_ready.Task.IsCompletedSuccessfully && _ready.Task.Result == session)
            {
                _ready = new TaskCompletionSource<WorkerSession>(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    private List<string> HostArguments(string workerId, string requestId)
    {
        var port = Address!.Port.ToString(CultureInfo.InvariantCulture);
        var maxMessageLength = _options.GrpcMaxMessageLength.ToString(CultureInfo.InvariantCulture);
        return
        [
            // The classic arguments, then the ones the .NET isolated worker reads.
            "--host", Address.Host,
            "--port", port,
            "--workerId", workerId,
            "--requestId", requestId,
            "--grpcMaxMessageLength", maxMessageLength,
            "--functions-uri", Address.AbsoluteUri,
            "--functions-worker-id", workerId,
            "--functions-request-id", requestId,
            "--functions-grpc-max-message-length", maxMessageLength,
        ];
    }

    private Dictionary<string, string> WorkerEnvironment()
    {
        var environment = new Dictionary<string, string>(_options.AppSettings, StringComparer.Ordinal)
        {
            ["FUNCTIONS_WORKER_RUNTIME"] = WorkerRuntime,
            ["FUNCTIONS_APPLICATION_DIRECTORY"] = AppDirectory,
            ["FUNCTIONS_WORKER_DIRECTORY"] = AppDirectory,
            ["AzureWebJobsScriptRoot"] = AppDirectory,
        };
        return environment;
    }

    private ILogger WorkerLogger(string category) => _workerLoggers.GetOrAdd(category, _loggerFactory.CreateLogger);

    private static string WithOutput(string reason, WorkerProcess? process) =>
        process?.OutputTail() is { Length: > 0 } tail ? $"{reason}{Environment.NewLine}Its last output:{Environment.NewLine}{tail}" : reason;

    private static string Describe(StatusResult? result) => result switch
    {
        null => "no result.",
        { Exception: { } exception } => $"{exception.Type}{(string.IsNullOrEmpty(exception.Type) ? string.Empty : ": ")}{exception.Message}",
        { Result.Length: > 0 } => result.Result,
        _ => result.Status.ToString(),
    };
}
