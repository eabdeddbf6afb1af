using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Workflows.Host.Configuration;
using Workflows.Host.Security;

namespace Workflows.Host.Http;

/// <summary>
/// Checks the key a request presents (<c>x-functions-key</c> header or <c>code</c> query) against the level its
/// endpoint needs: an HTTP function's <c>authLevel</c> (from the worker's
/// indexing), admin (master key, or DF's system key on its webhook routes) for the management API. In local
/// development keys may be off, and then only for requests that arrive over loopback.
/// </summary>
internal sealed class KeyAuthorizationMiddleware(RequestDelegate next, HostKeyProvider keys, IOptions<FunctionsHostOptions> options)
{
    public Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        var level = endpoint?.Metadata.GetMetadata<RequiredKeyLevel>()?.Level
            ?? AuthorizationLevel.Anonymous;
        if (level == AuthorizationLevel.Anonymous || (!options.Value.EnforceKeys && IsLoopback(context.Connection)))
        {
            return next(context);
        }

        var presented = context.Request.Headers["x-functions-key"].ToString();
        if (presented.Length == 0)
        {
            presented = context.Request.Query["code"].ToString();
        }

        var systemKeyAccepted = endpoint?.Metadata.GetMetadata<DurableExtensionEndpoint>() is not null;
        if (presented.Length > 0 && keys.Keys.Grants(presented, level, systemKeyAccepted))
        {
            return next(context);
        }

        return Problems.Create(
            StatusCodes.Status401Unauthorized,
            "Unauthorized",
            $"This endpoint needs a {(level == AuthorizationLevel.Admin ? "master (admin)" : "function")} key in the x-functions-key header or the code query parameter.")
            .ExecuteAsync(context);
    }

    private static bool IsLoopback(ConnectionInfo connection) =>
        connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote)
        && (connection.LocalIpAddress is null || IPAddress.IsLoopback(connection.LocalIpAddress));
}

/// <summary>Endpoint metadata: the key level a built-in endpoint needs.</summary>
internal sealed record RequiredKeyLevel(AuthorizationLevel Level);

/// <summary>Endpoint metadata: DF's system key (<c>durabletask_extension</c>) is accepted here besides the master key.</summary>
internal sealed class DurableExtensionEndpoint;
