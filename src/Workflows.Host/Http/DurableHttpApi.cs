using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Workflows.Durable;
using Workflows.Durable.Client;
using Workflows.Durable.Storage;
using Workflows.Host.Configuration;
using Workflows.Host.Functions;
using Workflows.Host.Security;

namespace Workflows.Host.Http;

/// <summary>
/// Durable Functions' HTTP API: the generic starter on <c>/{routePrefix}/orchestrators/{name}[/{instanceId}]</c> and
/// DF's own routes under <c>/runtime/webhooks/durabletask/</c> (start, get, list, raise event, terminate, suspend,
/// resume, rewind, restart, purge one, purge by filter) with DF's status codes: 202 while running, 200 when done,
/// 404 unknown, 410 for operations on finished instances, 400 for bad requests.
/// </summary>
internal static class DurableHttpApi
{
    private const string ContinuationHeader = "x-ms-continuation-token";

    public static void MapDurableHttpApi(this IEndpointRouteBuilder endpoints, FunctionCatalog catalog, FunctionsHostOptions options)
    {
        var prefix = options.RoutePrefix.Length == 0 ? string.Empty : options.RoutePrefix + "/";
        RequestDelegate start = context => StartAsync(context, catalog);
        endpoints.MapPost(prefix + "orchestrators/{functionName}/{instanceId?}", start).WithMetadata(new RequiredKeyLevel(AuthorizationLevel.Function), new JsonRequestsOnly());

        var api = endpoints.MapGroup(CheckStatusLinks.WebhookBase).WithMetadata(new RequiredKeyLevel(AuthorizationLevel.Admin), new DurableExtensionEndpoint(), new JsonRequestsOnly());
        api.MapPost("orchestrators/{functionName}/{instanceId?}", start);
        api.MapGet("instances/{instanceId}", GetAsync);
        api.MapGet("instances", (Func<HttpContext, Task<IResult>>)ListAsync);
        api.MapDelete("instances/{instanceId}", PurgeAsync);
        api.MapDelete("instances", (Func<HttpContext, Task<IResult>>)PurgeManyAsync);
        api.MapPost("instances/{instanceId}/raiseEvent/{eventName}", RaiseEventAsync);
        api.MapPost("instances/{instanceId}/terminate", (HttpContext c, string instanceId, string? reason) =>
            OnUnfinished(c, client => client.TerminateInstanceAsync(InstanceIdRoute.Decode(c, instanceId), reason, cancellationToken: c.RequestAborted)));
        api.MapPost("instances/{instanceId}/suspend", (HttpContext c, string instanceId, string? reason) =>
            OnUnfinished(c, client => client.SuspendInstanceAsync(InstanceIdRoute.Decode(c, instanceId), reason, c.RequestAborted)));
        api.MapPost("instances/{instanceId}/resume", (HttpContext c, string instanceId, string? reason) =>
            OnUnfinished(c, client => client.ResumeInstanceAsync(InstanceIdRoute.Decode(c, instanceId), reason, c.RequestAborted)));
        api.MapPost("instances/{instanceId}/rewind", (HttpContext c, string instanceId, string? reason) =>
            OnUnfinished(c, client => client.RewindInstanceAsync(InstanceIdRoute.Decode(c, instanceId), reason, c.RequestAborted)));
        api.MapPost("instances/{instanceId}/restart", RestartAsync);
    }

    private static async Task StartAsync(HttpContext context, FunctionCatalog catalog)
    {
        var name = (string)context.Request.RouteValues["functionName"]!;
        var instanceId = context.Request.RouteValues["instanceId"] is string routeId ? InstanceIdRoute.Decode(context, routeId) : null;
        if (catalog.Find(name) is not { Kind: FunctionKind.Orchestrator } function)
        {
            await Problems.NotFound($"There is no orchestrator function named '{name}'.").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (instanceId is not null && InvalidInstanceId(instanceId) is { } invalid)
        {
            await Problems.BadRequest(invalid).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var input = await ReadJsonBodyAsync(context).ConfigureAwait(false);
        var client = Client(context);
        try
        {
            instanceId = await client.ScheduleNewOrchestrationInstanceAsync(function.Name, input, new StartOrchestrationOptions(instanceId), context.RequestAborted).ConfigureAwait(false);
        }
        catch (OrchestrationAlreadyExistsException exception)
        {
            await Problems.Create(StatusCodes.Status409Conflict, "Instance exists", exception.Message).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        await client.CreateCheckStatusResponse(context.Request, instanceId).ExecuteAsync(context).ConfigureAwait(false);
    }

    private static async Task<IResult> GetAsync(
        HttpContext context, string instanceId, bool? showHistory, bool? showHistoryOutput, bool? showInput, bool? returnInternalServerErrorOnFailure)
    {
        instanceId = InstanceIdRoute.Decode(context, instanceId);
        var client = Client(context);
        var metadata = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, context.RequestAborted).ConfigureAwait(false);
        if (metadata is null)
        {
            return Problems.NotFound($"There is no instance '{instanceId}'.");
        }

        var history = showHistory == true ? await client.GetOrchestrationHistoryAsync(instanceId, context.RequestAborted).ConfigureAwait(false) : null;
        var body = InstanceStatusJson.Create(metadata, showInput ?? true, history, showHistoryOutput == true);
        if (!metadata.IsCompleted)
        {
            context.Response.Headers.Location = context.Request.GetEncodedUrl();
            context.Response.Headers.RetryAfter = CheckStatusLinks.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return Results.Json(body, statusCode: StatusCodes.Status202Accepted);
        }

        var failed = metadata.RuntimeStatus == OrchestrationRuntimeStatus.Failed && returnInternalServerErrorOnFailure == true;
        return Results.Json(body, statusCode: failed ? StatusCodes.Status500InternalServerError : StatusCodes.Status200OK);
    }

    private static async Task<IResult> ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        if (ParseFilter(query, out var createdFrom, out var createdTo, out var statuses) is { } invalid)
        {
            return Problems.BadRequest(invalid);
        }

        var top = 100;
        if (query["top"].ToString() is { Length: > 0 } rawTop
            && (!int.TryParse(rawTop, NumberStyles.Integer, CultureInfo.InvariantCulture, out top) || top is < 1 or > OrchestrationQuery.MaxPageSize))
        {
            return Problems.BadRequest($"top must be an integer between 1 and {OrchestrationQuery.MaxPageSize}; got '{rawTop}'.");
        }

        var showInput = string.Equals(query["showInput"], "true", StringComparison.OrdinalIgnoreCase);
        var token = context.Request.Headers[ContinuationHeader].ToString();
        OrchestrationQueryResult page;
        try
        {
            page = await Client(context).QueryInstancesAsync(
                new OrchestrationQuery
                {
                    CreatedFrom = createdFrom,
                    CreatedTo = createdTo,
                    Statuses = statuses,
                    InstanceIdPrefix = query["instanceIdPrefix"].ToString() is { Length: > 0 } prefix ? prefix : null,
                    PageSize = top,
                    ContinuationToken = token.Length > 0 ? token : null,
                    FetchInputsAndOutputs = true,
                },
                context.RequestAborted).ConfigureAwait(false);
        }
        catch (InvalidContinuationTokenException)
        {
            return Problems.BadRequest($"The {ContinuationHeader} header is not a continuation token this task hub issued; send back the value of a previous answer's {ContinuationHeader} header, or none for the first page.");
        }
        catch (ArgumentException exception)
        {
            return Problems.BadRequest(exception.Message);
        }

        if (page.ContinuationToken is not null)
        {
            context.Response.Headers[ContinuationHeader] = page.ContinuationToken;
        }

        var items = new JsonArray();
        foreach (var instance in page.Instances)
        {
            items.Add(InstanceStatusJson.Create(instance, showInput));
        }

        return Results.Json(items);
    }

    private static async Task<IResult> PurgeAsync(HttpContext context, string instanceId)
    {
        instanceId = InstanceIdRoute.Decode(context, instanceId);
        var client = Client(context);
        var metadata = await client.GetInstanceAsync(instanceId, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        if (metadata is null)
        {
            return Problems.NotFound($"There is no instance '{instanceId}'.");
        }

        if (!metadata.IsCompleted)
        {
            return Problems.Create(StatusCodes.Status409Conflict, "Instance is running", $"Instance '{instanceId}' is {metadata.RuntimeStatus}; terminate it before purging.");
        }

        var deleted = await client.PurgeInstanceAsync(instanceId, context.RequestAborted).ConfigureAwait(false);
        return deleted ? Results.Json(new JsonObject { ["instancesDeleted"] = 1 }) : Problems.NotFound($"There is no instance '{instanceId}'.");
    }

    private static async Task<IResult> PurgeManyAsync(HttpContext context)
    {
        if (ParseFilter(context.Request.Query, out var createdFrom, out var createdTo, out var statuses) is { } invalid)
        {
            return Problems.BadRequest(invalid);
        }

        int deleted;
        try
        {
            deleted = await Client(context).PurgeAllInstancesAsync(
                new PurgeInstancesFilter { CreatedFrom = createdFrom, CreatedTo = createdTo, Statuses = statuses },
                context.RequestAborted).ConfigureAwait(false);
        }
        catch (ArgumentException exception)
        {
            return Problems.BadRequest(exception.Message);
        }

        return deleted == 0
            ? Problems.NotFound("No finished instance matches the filter.")
            : Results.Json(new JsonObject { ["instancesDeleted"] = deleted });
    }

    private static async Task<IResult> RaiseEventAsync(HttpContext context, string instanceId, string eventName)
    {
        instanceId = InstanceIdRoute.Decode(context, instanceId);
        var payload = await ReadJsonBodyAsync(context).ConfigureAwait(false);
        return await OnUnfinished(context, client => client.RaiseEventAsync(instanceId, eventName, payload, context.RequestAborted)).ConfigureAwait(false);
    }

    private static async Task<IResult> RestartAsync(HttpContext context, string instanceId, bool? restartWithNewInstanceId)
    {
        instanceId = InstanceIdRoute.Decode(context, instanceId);
        var client = Client(context);
        try
        {
            var id = await client.RestartAsync(instanceId, restartWithNewInstanceId ?? true, context.RequestAborted).ConfigureAwait(false);
            return client.CreateCheckStatusResponse(context.Request, id);
        }
        catch (OrchestrationNotFoundException)
        {
            return Problems.NotFound($"There is no instance '{instanceId}'.");
        }
        catch (OrchestrationAlreadyExistsException exception)
        {
            return Problems.Create(StatusCodes.Status409Conflict, "Instance is running", exception.Message);
        }
    }

    /// <summary>Runs an operation on an unfinished instance: 202, or 404 unknown, or 410 when it has finished (or cannot take it).</summary>
    private static async Task<IResult> OnUnfinished(HttpContext context, Func<DurableTaskClient, Task> operation)
    {
        try
        {
            await operation(Client(context)).ConfigureAwait(false);
            return Results.Accepted();
        }
        catch (OrchestrationNotFoundException exception)
        {
            return Problems.NotFound(exception.Message);
        }
        catch (OrchestrationStateConflictException exception)
        {
            return Problems.Create(StatusCodes.Status410Gone, "Instance is not in a state for this operation", exception.Message);
        }
    }

    /// <summary>The body as JSON (null when empty); malformed JSON throws <see cref="JsonException"/>, which is a 400.</summary>
    private static async Task<JsonElement?> ReadJsonBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var text = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    private static string? ParseFilter(IQueryCollection query, out DateTimeOffset? createdFrom, out DateTimeOffset? createdTo, out List<OrchestrationRuntimeStatus>? statuses)
    {
        createdFrom = createdTo = null;
        statuses = null;
        foreach (var (key, target) in new[] { ("createdTimeFrom", 0), ("createdTimeTo", 1) })
        {
            if (query[key].ToString() is not { Length: > 0 } raw)
            {
                continue;
            }

            if (!DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            {
                return $"{key} must be an ISO 8601 time; got '{raw}'.";
            }

            (target == 0 ? ref createdFrom : ref createdTo) = time;
        }

        foreach (var raw in query["runtimeStatus"].SelectMany(static v => (v ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!Enum.TryParse<OrchestrationRuntimeStatus>(raw, ignoreCase: true, out var status) || !Enum.IsDefined(status) || int.TryParse(raw, out _))
            {
                return $"runtimeStatus '{raw}' is not one of {string.Join(", ", Enum.GetNames<OrchestrationRuntimeStatus>())}.";
            }

            (statuses ??= []).Add(status);
        }

        return null;
    }

    private static string? InvalidInstanceId(string instanceId)
    {
        try
        {
            InstanceIds.Validate(instanceId);
            return null;
        }
        catch (ArgumentException exception)
        {
            return exception.Message;
        }
    }

    private static DurableTaskClient Client(HttpContext context) => context.RequestServices.GetRequiredService<DurableTaskClient>();
}
