using System.Net;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask;
using DurableTask.Core.Exceptions;
using Microsoft.DurableTask.Client;

namespace Workflows.Functions.Http;

/// <summary>
/// Starts orchestrations over HTTP: the generic starter the Durable Functions template has (any orchestrator by name,
/// the JSON body as its input), and what the typed starters share. Each answers 202 with the official check-status
/// response (the instance's status, raise-event, terminate and purge links).
/// </summary>
public static class HttpStarter
{
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    /// <summary>Name of the generic starter.</summary>
    public const string Name = "HttpStart";

    /// <summary>
    /// <c>POST /api/orchestrators/{functionName}/{instanceId?}</c>: schedules the orchestrator
    /// <paramref name="functionName"/> (as <paramref name="instanceId"/> when given) with the request's JSON body as
    /// its input (an empty body: no input). A body that is not JSON is answered 400 with a problem+json body.
    /// </summary>
    [Function(Name)]
    public static async Task<HttpResponseData> HttpStart(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "orchestrators/{functionName}/{instanceId?}")] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        FunctionContext executionContext,
        string functionName,
        string? instanceId)
    {
        ArgumentNullException.ThrowIfNull(request);
        var input = await ReadJsonInputAsync(request.Body, request.HttpContext.RequestAborted);
        if (input.Problem is { } problem)
        {
            return await ProblemAsync(executionContext, HttpStatusCode.BadRequest, "Invalid orchestration input", problem);
        }

        return await StartAsync(client, executionContext, functionName, input.Value, DecodeOnce(request, instanceId));
    }

    /// <summary>
    /// The instance id as the client wrote it, decoded exactly once. The server decodes a path except <c>%2F</c>, which
    /// it leaves as written, so a route value with a '%' is read again from the raw request target, whose last segment
    /// it is: <c>a%2Fb</c> is the id <c>a/b</c> (which the task hub refuses) and <c>a%252Fb</c> the id <c>a%2Fb</c>.
    /// </summary>
    private static string? DecodeOnce(HttpRequest request, string? routeValue)
    {
        var raw = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (routeValue is null || !routeValue.Contains('%', StringComparison.Ordinal) || raw is null)
        {
            return routeValue;
        }

        var path = raw.Split('?')[0];
        return Uri.UnescapeDataString(path[(path.LastIndexOf('/') + 1)..]);
    }

    /// <summary>
    /// The statuses an instance id may not be reused in, as Durable Functions' default (<c>NonRunningStates</c>
    /// overridable): a start under the id of a pending, running or suspended instance is refused rather than
    /// replacing it; a finished instance's id starts a new run.
    /// </summary>
    public static readonly IReadOnlyList<string> LiveStatuses =
        [nameof(OrchestrationRuntimeStatus.Pending), nameof(OrchestrationRuntimeStatus.Running), nameof(OrchestrationRuntimeStatus.Suspended)];

    /// <summary>The start options for <paramref name="instanceId"/> (none: a new id) that refuse to replace a live instance.</summary>
    public static StartOrchestrationOptions? OptionsFor(string? instanceId) =>
        string.IsNullOrEmpty(instanceId) ? null : new StartOrchestrationOptions(instanceId) { DedupeStatuses = LiveStatuses };

    /// <summary>Whether <paramref name="exception"/> is the task hub's refusal to start over a live instance's id.</summary>
    public static bool IsAlreadyExists(Exception exception) =>
        exception is OrchestrationAlreadyExistsException or RpcException { StatusCode: StatusCode.AlreadyExists };

    /// <summary>
    /// Schedules orchestrator <paramref name="name"/> with <paramref name="input"/> (as <paramref name="instanceId"/>
    /// when given) and answers 202 with the official check-status payload for the invocation's request. What the task
    /// hub refuses is answered as problem+json: an orchestrator it does not know 404, an instance id it does not accept
    /// 400, the id of an instance that is still running 409.
    /// </summary>
    public static async Task<HttpResponseData> StartAsync(
        DurableTaskClient client, FunctionContext executionContext, string name, object? input, string? instanceId = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(executionContext);
        var cancellation = executionContext.CancellationToken;
        string id;
        try
        {
            id = await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(name), input, OptionsFor(instanceId), cancellation);
        }
        catch (OrchestrationAlreadyExistsException exception)
        {
            return await ProblemAsync(executionContext, HttpStatusCode.Conflict, "Instance already exists", exception.Message);
        }
        catch (RpcException exception) when (Refusal(exception.StatusCode) is { } refusal)
        {
            return await ProblemAsync(executionContext, refusal.Status, refusal.Title, exception.Status.Detail);
        }
        catch (ArgumentException exception)
        {
            // The gRPC client raises the task hub's InvalidArgument answer (an instance id it does not accept) as this.
            return await ProblemAsync(executionContext, HttpStatusCode.BadRequest, "Invalid start request", exception.Message);
        }

        // The official payload, answered as the Durable Functions HTTP API answers a start: 202, the status link as
        // Location, and Retry-After (headers go before the body, which starts the response).
        var request = await RequestDataAsync(executionContext);
        var payload = client.CreateHttpManagementPayload(id, request);
        var response = request.CreateResponse(HttpStatusCode.Accepted);
        response.Headers.Add("Content-Type", "application/json; charset=utf-8");
        response.Headers.Add("Location", payload.StatusQueryGetUri);
        response.Headers.Add("Retry-After", "10");
        await response.WriteStringAsync(JsonSerializer.Serialize(payload, WebJson), cancellation);
        return response;
    }

    private static (HttpStatusCode Status, string Title)? Refusal(StatusCode code) => code switch
    {
        StatusCode.NotFound => (HttpStatusCode.NotFound, "Unknown orchestrator"),
        StatusCode.InvalidArgument => (HttpStatusCode.BadRequest, "Invalid start request"),
        StatusCode.AlreadyExists => (HttpStatusCode.Conflict, "Instance already exists"),
        _ => null,
    };

    /// <summary>
    /// The JSON document in <paramref name="body"/>: no value for an empty (or blank) body, a problem naming the
    /// error for one that is not JSON.
    /// </summary>
    public static async Task<(JsonElement? Value, string? Problem)> ReadJsonInputAsync(Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        if (bytes.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            return (null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            return (document.RootElement.Clone(), null);
        }
        catch (JsonException exception)
        {
            return (null, "The request body is not JSON: " + exception.Message);
        }
    }

    private static async Task<HttpResponseData> ProblemAsync(FunctionContext executionContext, HttpStatusCode status, string title, string detail)
    {
        var response = (await RequestDataAsync(executionContext)).CreateResponse(status);
        response.Headers.Add("Content-Type", "application/problem+json");
        var problem = new ProblemDetails { Status = (int)status, Title = title, Detail = detail };
        await response.WriteStringAsync(JsonSerializer.Serialize(problem), executionContext.CancellationToken);
        return response;
    }

    private static async Task<HttpRequestData> RequestDataAsync(FunctionContext executionContext) =>
        await executionContext.GetHttpRequestDataAsync()
            ?? throw new InvalidOperationException($"Function '{executionContext.FunctionDefinition.Name}' was not invoked by an HTTP request.");
}
