using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Yarp.ReverseProxy.Forwarder;

namespace Workflows.Host.Rpc;

/// <summary>
/// Runs an HTTP-triggered function in the worker as the Functions host does for a worker with the <c>HttpUri</c>
/// capability (the ASP.NET Core integration): the request itself is forwarded to the worker's own HTTP server, marked
/// with the invocation's id in <c>x-ms-invocation-id</c>, while the invocation goes over the channel with an empty
/// HTTP trigger value (and the route's values); the worker answers the forwarded request, and the invocation's outcome
/// says whether the function succeeded. The original <c>Host</c> header is kept, so URLs the app builds point at the host.
/// </summary>
internal sealed class WorkerHttpProxy : IDisposable
{
    /// <summary>The header that ties the forwarded request to its invocation.</summary>
    public const string InvocationIdHeader = "x-ms-invocation-id";

    private const string HttpUriCapability = "HttpUri";
    private readonly WorkerChannel _channel;
    private readonly IHttpForwarder _forwarder;
    private readonly WorkerBindings _bindings;
    private readonly HttpMessageInvoker _client = new(new ConnectRetryHandler(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(15),
    }));

    private readonly ForwarderRequestConfig _config = new() { ActivityTimeout = TimeSpan.FromMinutes(4) };

    public WorkerHttpProxy(WorkerChannel channel, IHttpForwarder forwarder, WorkerBindings bindings)
    {
        _channel = channel ?? throw new ArgumentNullException(nameof(channel));
        _forwarder = forwarder ?? throw new ArgumentNullException(nameof(forwarder));
        _bindings = bindings ?? throw new ArgumentNullException(nameof(bindings));
    }

    /// <summary>
    /// Forwards <paramref name="context"/>'s request to function <paramref name="functionName"/>: the response is what
    /// the worker wrote; a worker that has no HTTP server, dies or fails before answering gives 502 or 500 (when the
    /// response has not started).
    /// </summary>
    public async Task InvokeAsync(HttpContext context, string functionName, IReadOnlyDictionary<string, string> routeValues)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(routeValues);
        await _channel.WaitUntilReadyAsync(context.RequestAborted).ConfigureAwait(false);
        var function = _channel.Functions.FirstOrDefault(candidate => string.Equals(candidate.Name, functionName, StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException($"The worker has no function '{functionName}'.");
        if (function.Trigger is not { } trigger || !string.Equals(trigger.Type, "httpTrigger", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Function '{functionName}' is not HTTP-triggered.");
        }

        if (!_channel.WorkerCapabilities.TryGetValue(HttpUriCapability, out var httpUri) || !Uri.TryCreate(httpUri, UriKind.Absolute, out var destination))
        {
            throw new InvalidOperationException("The worker serves no HTTP (no HttpUri capability): the app must use the ASP.NET Core integration (ConfigureFunctionsWebApplication).");
        }

        var invocationId = Guid.NewGuid().ToString();
        context.Request.Headers[InvocationIdHeader] = invocationId;
        // Route values travel as the trigger's parameters and as binding data, which the worker binds other parameters from.
        var http = new RpcHttp();
        var request = new InvocationRequest { InvocationId = invocationId, FunctionId = function.Id };
        foreach (var (name, value) in routeValues)
        {
            http.Params[name] = value;
            request.TriggerMetadata[name] = new TypedData { String = value };
        }

        request.InputData.Add(new ParameterBinding { Name = trigger.Name, Data = new TypedData { Http = http } });
        request.InputData.Add(_bindings.InputsFor(function));

        // Forwarding starts first, as in the Functions host: the worker's middleware waits for both halves.
        var forwarding = _forwarder.SendAsync(context, destination.GetLeftPart(UriPartial.Authority), _client, _config, AsReceived.Instance).AsTask();
        InvocationResponse response;
        try
        {
            response = await _channel.InvokeAsync(request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (WorkerExitedException exception)
        {
            await forwarding.ConfigureAwait(false);
            await BadGatewayAsync(context, exception.Message).ConfigureAwait(false);
            return;
        }
        catch
        {
            // Cancelled (functionTimeout, the client gone) or failed otherwise: the forwarded request ends with the same
            // token, and only once it has may anyone else (the error middleware's 500) write the response.
            await forwarding.ConfigureAwait(false);
            throw;
        }

        var error = await forwarding.ConfigureAwait(false);
        if (response.Result.Status != StatusResult.Types.Status.Success)
        {
            // The error middleware logs it under an error id and answers 500 with that id, when nothing was sent yet.
            if (!context.Response.HasStarted)
            {
                var failure = response.Result.Exception;
                throw new WorkerFunctionException($"Function '{functionName}' failed in the worker: {failure?.Type} {failure?.Message}".TrimEnd());
            }
        }
        else if (error != ForwarderError.None)
        {
            await BadGatewayAsync(context, $"Forwarding the request to the worker failed: {error}.").ConfigureAwait(false);
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Answers with a problem when nothing of the response was sent yet (a started response is the worker's).</summary>
    private static async Task BadGatewayAsync(HttpContext context, string reason)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.Clear();
        const int status = StatusCodes.Status502BadGateway;
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(
            new { type = "about:blank", title = "Bad Gateway", status, detail = reason },
            options: null,
            contentType: "application/problem+json",
            cancellationToken: context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Connects again while the worker's HTTP server refuses: a worker reports its functions loaded as its server starts
    /// listening, and a restarted worker listens a moment after it connects. Nothing of the request has left when a
    /// connection fails, so sending it again is safe for any method. Bounded well inside the worker's own wait for the
    /// request (5 s), so a server that never listens still fails the invocation plainly.
    /// </summary>
    private sealed class ConnectRetryHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private const int MaxAttempts = 30;
        private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(100);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                }
                catch (HttpRequestException exception) when (exception.HttpRequestError == HttpRequestError.ConnectionError && attempt < MaxAttempts)
                {
                    await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// YARP's default transform, keeping the request's own Host header and its target as the client wrote it: the
    /// server decodes the path (all but <c>%2F</c>), and re-encoding it would make <c>a%2Fb</c> and <c>a%252Fb</c> one
    /// path, so the worker reads its route values from the very bytes the client sent.
    /// </summary>
    private sealed class AsReceived : HttpTransformer
    {
        public static readonly AsReceived Instance = new();

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await Default.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
            proxyRequest.Headers.Host = httpContext.Request.Host.Value;
            if (httpContext.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw && raw[0] == '/')
            {
                proxyRequest.RequestUri = new Uri(destinationPrefix.TrimEnd('/') + raw, UriKind.Absolute);
            }
        }
    }
}
