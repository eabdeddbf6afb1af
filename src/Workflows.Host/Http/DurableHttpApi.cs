using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Workflows.DurableTask.Client;
using Workflows.Host.Configuration;
using Workflows.Host.FunctionApp;
using Workflows.Host.Rpc;
using Workflows.Host.Security;
using Workflows.Host.TaskHub;

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

    /// <summary>Largest page of <c>GET instances</c> (<c>top</c>).</summary>
    public const int MaxPageSize = 1000;

    /// <summary>Instances <c>GET counts</c> counts at most unless asked for more (<c>limit</c>): a count is a scan.</summary>
    public const long DefaultCountLimit = 10_000;

    /// <summary>Largest <c>limit</c> of <c>GET counts</c>.</summary>
    public const long MaxCountLimit = 10_000_000;

    /// <summary>The generic starter's route (under the route prefix): the host's own, or the app's function on it.</summary>
    public const string StarterRoute = "orchestrators/{functionName}/{instanceId?}";

    /// <summary>What the generic starter will not start over: a live instance of the id answers 409.</summary>
    private static readonly string[] LiveStatuses = [nameof(OrchestrationRuntimeStatus.Pending), nameof(OrchestrationRuntimeStatus.Running), nameof(OrchestrationRuntimeStatus.Suspended)];

    private static readonly OrchestrationRuntimeStatus[] FinishedStatuses = [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated];

    public static void MapDurableHttpApi(this IEndpointRouteBuilder endpoints, FunctionAppWorker app, FunctionsHostOptions options)
    {
        var prefix = options.RoutePrefix.Length == 0 ? string.Empty : options.RoutePrefix + "/";
        RequestDelegate start = context => StartAsync(context, app);

        // The app's own starter on this route, when it has one (as the Durable Functions template does), comes first.
        endpoints.MapPost(prefix + StarterRoute, start).WithOrder(1).WithMetadata(new RequiredKeyLevel(AuthorizationLevel.Function), new JsonRequestsOnly());

        var api = endpoints.MapGroup(DurableClientEndpoint.WebhookBase).WithMetadata(new RequiredKeyLevel(AuthorizationLevel.Admin), new DurableExtensionEndpoint(), new JsonRequestsOnly());
        api.MapPost(StarterRoute, start);
        api.MapGet("instances/{instanceId}", GetAsync);
        api.MapGet("instances", (Func<HttpContext, Task<IResult>>)ListAsync);
        api.MapGet("counts", (Func<HttpContext, Task<IResult>>)CountAsync);
        api.MapDelete("instances/{instanceId}", PurgeAsync);
        api.MapDelete("instances", (Func<HttpContext, Task<IResult>>)PurgeManyAsync);
        api.MapPost("instances/{instanceId}/raiseEvent/{eventName}", RaiseEventAsync);
        api.MapPost("instances/{instanceId}/terminate", (HttpContext c, string instanceId, string? reason) =>
            OnUnfinished(c, instanceId, (client, id) => client.TerminateInstanceAsync(id, reason, c.RequestAborted)));
        api.MapPost("instances/{instanceId}/suspend", (HttpContext c, string instanceId, string? reason) =>
            OnUnfinished(c, instanceId, (client, id) => client.SuspendInstanceAsync(id, reason, c.RequestAborted)));
        api.MapPost("instances/{instanceId}/resume", (HttpContext c, string instanceId, string? reason) =>
            OnUnfinished(c, instanceId, (client, id) => client.ResumeInstanceAsync(id, reason, c.RequestAborted)));
        api.MapPost("instances/{instanceId}/rewind", RewindAsync);
        api.MapPost("instances/{instanceId}/restart", RestartAsync);
    }

    private static async Task StartAsync(HttpContext context, FunctionAppWorker app)
    {
        var name = (string)context.Request.RouteValues["functionName"]!;
        var instanceId = context.Request.RouteValues["instanceId"] is string routeId ? InstanceIdRoute.Decode(context, routeId) : null;
        // The app's orchestrators by their names; any other name only once a gRPC worker has connected to the Durable
        // Task endpoint (its workers do not declare their orchestrators), so a mistyped name is still a 404 before.
        string orchestrator;
        if (app.Catalog.Orchestrators.FirstOrDefault(entry => string.Equals(entry.TaskName, name, StringComparison.OrdinalIgnoreCase)) is { } function)
        {
            orchestrator = function.TaskName;
        }
        else if (!app.Catalog.Entries.Any(entry => string.Equals(entry.Name, name, StringComparison.OrdinalIgnoreCase))
            && context.RequestServices.GetRequiredService<TaskHubRuntime>().GrpcWorkersEverConnected)
        {
            orchestrator = name;
        }
        else
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
            instanceId = await client.ScheduleNewOrchestrationInstanceAsync(
                orchestrator, input, new StartOrchestrationOptions(instanceId) { DedupeStatuses = LiveStatuses }, context.RequestAborted).ConfigureAwait(false);
        }
        catch (global::DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException exception)
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
            && (!int.TryParse(rawTop, NumberStyles.Integer, CultureInfo.InvariantCulture, out top) || top is < 1 or > MaxPageSize))
        {
            return Problems.BadRequest($"top must be an integer between 1 and {MaxPageSize}; got '{rawTop}'.");
        }

        var showInput = string.Equals(query["showInput"], "true", StringComparison.OrdinalIgnoreCase);
        var token = context.Request.Headers[ContinuationHeader].ToString();
        Page<OrchestrationMetadata>? page = null;
        try
        {
            var filter = ListFilter(query, createdFrom, createdTo, statuses) with { PageSize = top, FetchInputsAndOutputs = true };
            var pages = Client(context).GetAllInstancesAsync(filter, NamePrefix(query)).AsPages(token.Length > 0 ? token : null, top);
            await foreach (var first in pages.WithCancellation(context.RequestAborted).ConfigureAwait(false))
            {
                page = first;
                break;
            }
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or Newtonsoft.Json.JsonException or System.Text.Json.JsonException)
        {
            return Problems.BadRequest(token.Length > 0
                ? $"The {ContinuationHeader} header is not a continuation token this task hub issued; send back the value of a previous answer's {ContinuationHeader} header, or none for the first page."
                : exception.Message);
        }

        if (page?.ContinuationToken is { Length: > 0 } next)
        {
            context.Response.Headers[ContinuationHeader] = next;
        }

        var items = new JsonArray();
        foreach (var instance in page?.Values ?? [])
        {
            items.Add(InstanceStatusJson.Create(instance, showInput));
        }

        return Results.Json(items);
    }

    /// <summary>
    /// <c>GET counts</c>: how many instances match the list's filters (runtimeStatus, createdTimeFrom, createdTimeTo,
    /// instanceIdPrefix, name), per runtime status, counting at most <c>limit</c> (default
    /// <see cref="DefaultCountLimit"/>); shared and reused for a few seconds (<see cref="InstanceCountCache"/>).
    /// </summary>
    private static async Task<IResult> CountAsync(HttpContext context)
    {
        var query = context.Request.Query;
        if (ParseFilter(query, out var createdFrom, out var createdTo, out var statuses) is { } invalid)
        {
            return Problems.BadRequest(invalid);
        }

        long limit = DefaultCountLimit;
        if (query["limit"].ToString() is { Length: > 0 } rawLimit
            && (!long.TryParse(rawLimit, NumberStyles.Integer, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxCountLimit))
        {
            return Problems.BadRequest($"limit must be an integer between 1 and {MaxCountLimit}; got '{rawLimit}'.");
        }

        var filter = ListFilter(query, createdFrom, createdTo, statuses);
        InstanceCountCache.Answer answer;
        try
        {
            answer = await context.RequestServices.GetRequiredService<InstanceCountCache>()
                .GetAsync(Client(context), filter, NamePrefix(query), limit)
                .WaitAsync(context.RequestAborted)
                .ConfigureAwait(false);
        }
        catch (ArgumentException exception)
        {
            // The query refuses the filter (createdTimeFrom after createdTimeTo), as the list does.
            return Problems.BadRequest(exception.Message);
        }

        var counts = new JsonObject();
        foreach (var status in Enum.GetValues<OrchestrationRuntimeStatus>())
        {
            counts[status.ToString()] = answer.Counts.Counts.GetValueOrDefault(status);
        }

        return Results.Json(new JsonObject
        {
            ["counts"] = counts,
            ["total"] = answer.Counts.Counts.Values.Sum(),
            ["complete"] = answer.Counts.Complete,
            ["limit"] = limit,
            ["asOf"] = answer.AsOf.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            ["tookMs"] = (long)answer.Took.TotalMilliseconds,
        });
    }

    /// <summary>The filters the list and the counts share, <c>name</c> aside (<see cref="NamePrefix"/>).</summary>
    private static OrchestrationQuery ListFilter(IQueryCollection query, DateTimeOffset? createdFrom, DateTimeOffset? createdTo, List<OrchestrationRuntimeStatus>? statuses) => new()
    {
        CreatedFrom = createdFrom,
        CreatedTo = createdTo,
        Statuses = statuses,
        InstanceIdPrefix = query["instanceIdPrefix"].ToString() is { Length: > 0 } prefix ? prefix : null,
    };

    /// <summary>The list's <c>name</c> filter: instances whose orchestration name starts with it, ignoring case.</summary>
    private static string? NamePrefix(IQueryCollection query) => query["name"].ToString() is { Length: > 0 } name ? name.Trim() : null;

    private static async Task<IResult> PurgeAsync(HttpContext context, string instanceId)
    {
        instanceId = InstanceIdRoute.Decode(context, instanceId);
        var client = Client(context);
        var metadata = await client.GetInstanceAsync(instanceId, cancellation: context.RequestAborted).ConfigureAwait(false);
        if (metadata is null)
        {
            return Problems.NotFound($"There is no instance '{instanceId}'.");
        }

        if (!metadata.IsCompleted)
        {
            return Problems.Create(StatusCodes.Status409Conflict, "Instance is running", $"Instance '{instanceId}' is {metadata.RuntimeStatus}; terminate it before purging.");
        }

        var purged = await client.PurgeInstanceAsync(instanceId, cancellation: context.RequestAborted).ConfigureAwait(false);
        return purged.PurgedInstanceCount > 0
            ? Results.Json(new JsonObject { ["instancesDeleted"] = purged.PurgedInstanceCount })
            : Problems.NotFound($"There is no instance '{instanceId}'.");
    }

    private static async Task<IResult> PurgeManyAsync(HttpContext context)
    {
        if (ParseFilter(context.Request.Query, out var createdFrom, out var createdTo, out var statuses) is { } invalid)
        {
            return Problems.BadRequest(invalid);
        }

        if (statuses?.Where(static s => !FinishedStatuses.Contains(s)).Select(static s => (OrchestrationRuntimeStatus?)s).FirstOrDefault() is { } live)
        {
            return Problems.BadRequest($"Only finished instances are purged; runtimeStatus {live} is not one of {string.Join(", ", FinishedStatuses)}.");
        }

        var purged = await Client(context).PurgeAllInstancesAsync(
            new PurgeInstancesFilter(createdFrom, createdTo, statuses ?? [.. FinishedStatuses]),
            cancellation: context.RequestAborted).ConfigureAwait(false);
        return purged.PurgedInstanceCount == 0
            ? Problems.NotFound("No finished instance matches the filter.")
            : Results.Json(new JsonObject { ["instancesDeleted"] = purged.PurgedInstanceCount });
    }

    private static async Task<IResult> RaiseEventAsync(HttpContext context, string instanceId, string eventName)
    {
        var payload = await ReadJsonBodyAsync(context).ConfigureAwait(false);
        return await OnUnfinished(context, instanceId, (client, id) => client.RaiseEventAsync(id, eventName, payload, context.RequestAborted)).ConfigureAwait(false);
    }

    private static async Task<IResult> RewindAsync(HttpContext context, string instanceId, string? reason)
    {
        instanceId = InstanceIdRoute.Decode(context, instanceId);
        var client = Client(context);
        var metadata = await client.GetInstanceAsync(instanceId, cancellation: context.RequestAborted).ConfigureAwait(false);
        if (metadata is null)
        {
            return Problems.NotFound($"There is no instance '{instanceId}'.");
        }

        if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Failed)
        {
            return Problems.Create(StatusCodes.Status410Gone, "Instance is not in a state for this operation", $"Only a Failed instance can be rewound; instance '{instanceId}' is {metadata.RuntimeStatus}.");
        }

        await client.RewindInstanceAsync(instanceId, reason ?? string.Empty, context.RequestAborted).ConfigureAwait(false);
        return Results.Accepted();
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
        catch (ArgumentException)
        {
            return Problems.NotFound($"There is no instance '{instanceId}'.");
        }
        catch (Exception exception) when (exception is InvalidOperationException or global::DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException)
        {
            return Problems.Create(StatusCodes.Status409Conflict, "Instance is running", exception.Message);
        }
    }

    /// <summary>Runs an operation on an unfinished instance: 202, or 404 unknown, or 410 when it has finished.</summary>
    private static async Task<IResult> OnUnfinished(HttpContext context, string routeId, Func<DurableTaskClient, string, Task> operation)
    {
        var instanceId = InstanceIdRoute.Decode(context, routeId);
        var client = Client(context);
        var metadata = await client.GetInstanceAsync(instanceId, cancellation: context.RequestAborted).ConfigureAwait(false);
        if (metadata is null)
        {
            return Problems.NotFound($"There is no instance '{instanceId}'.");
        }

        if (metadata.IsCompleted)
        {
            return Problems.Create(StatusCodes.Status410Gone, "Instance is not in a state for this operation", $"Instance '{instanceId}' has finished ({metadata.RuntimeStatus}).");
        }

        await operation(client, instanceId).ConfigureAwait(false);
        return Results.Accepted();
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

    private static OrchestrationServiceDurableTaskClient Client(HttpContext context) =>
        context.RequestServices.GetRequiredService<TaskHubRuntime>().Client;
}
