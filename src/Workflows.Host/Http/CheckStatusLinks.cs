using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Workflows.Host.Configuration;
using Workflows.Host.Rpc;
using Workflows.Host.Security;

namespace Workflows.Host.Http;

/// <summary>
/// Builds Durable Functions' check-status payload: the management URLs of one instance on this host, with the
/// task hub, the connection name and (when keys are enforced) the system key in the query, as DF does.
/// </summary>
internal sealed class CheckStatusLinks(IOptions<FunctionsHostOptions> options, HostKeyProvider keys)
{
    /// <summary>How long a client should wait before polling again, in seconds (the Retry-After header).</summary>
    public const int RetryAfterSeconds = 1;

    public CheckStatusPayload Create(HttpRequest request, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(request);
        var instance = $"{request.Scheme}://{request.Host}{request.PathBase}/{DurableClientEndpoint.WebhookBase}/instances/{Uri.EscapeDataString(instanceId)}";
        var query = $"taskHub={Uri.EscapeDataString(options.Value.HubName)}&connection=Storage";
        if (options.Value.EnforceKeys)
        {
            // As DF: the links carry the system key of the management API, so whoever started the run can follow them.
            query += "&code=" + Uri.EscapeDataString(keys.Keys.SystemKeys[HostKeys.DurableTaskExtensionKey]);
        }
        return new CheckStatusPayload(
            instanceId,
            $"{instance}?{query}",
            $"{instance}/raiseEvent/{{eventName}}?{query}",
            $"{instance}/terminate?reason={{text}}&{query}",
            $"{instance}?{query}",
            $"{instance}/restart?{query}",
            $"{instance}/suspend?reason={{text}}&{query}",
            $"{instance}/resume?reason={{text}}&{query}",
            $"{instance}/rewind?reason={{text}}&{query}");
    }

    /// <summary>202 Accepted with Location, Retry-After and the payload.</summary>
    public IResult Accepted(HttpRequest request, string instanceId)
    {
        var payload = Create(request, instanceId);
        request.HttpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Accepted(payload.StatusQueryGetUri, payload);
    }
}

/// <summary>Durable Functions' check-status (HTTP management) payload.</summary>
internal sealed record CheckStatusPayload(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("statusQueryGetUri")] string StatusQueryGetUri,
    [property: JsonPropertyName("sendEventPostUri")] string SendEventPostUri,
    [property: JsonPropertyName("terminatePostUri")] string TerminatePostUri,
    [property: JsonPropertyName("purgeHistoryDeleteUri")] string PurgeHistoryDeleteUri,
    [property: JsonPropertyName("restartPostUri")] string RestartPostUri,
    [property: JsonPropertyName("suspendPostUri")] string SuspendPostUri,
    [property: JsonPropertyName("resumePostUri")] string ResumePostUri,
    [property: JsonPropertyName("rewindPostUri")] string RewindPostUri);
