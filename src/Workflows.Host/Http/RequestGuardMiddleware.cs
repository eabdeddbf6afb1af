using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Workflows.Host.Configuration;

namespace Workflows.Host.Http;

/// <summary>
/// Keeps web pages the developer visits away from the host. While keys are off (local development over loopback),
/// a request must name a loopback host or an allowed one in its Host header (400 otherwise), which defeats DNS
/// rebinding. A browser origin other than a loopback or allowed host is refused (403; no CORS is offered) on the
/// starters and the management API (<see cref="JsonRequestsOnly"/>) and on every route for a method other than GET,
/// HEAD, OPTIONS and TRACE, so an HTTP-triggered function (a typed starter) cannot be called from another site either.
/// On the starters and the management API a body must be <c>application/json</c> (415), so neither a cross-site form
/// nor a <c>text/plain</c> fetch can start or change a run.
/// </summary>
internal sealed class RequestGuardMiddleware(RequestDelegate next, IOptions<FunctionsHostOptions> options)
{
    public Task InvokeAsync(HttpContext context)
    {
        var host = options.Value;
        var request = context.Request;
        if (!host.EnforceKeys && !IsAllowedHost(request.Host.Host, host.AllowedHosts))
        {
            return Problems.Create(
                StatusCodes.Status400BadRequest,
                "Host not allowed",
                $"The Host header '{request.Host.Value}' is not allowed: while keys are off, requests must name a loopback host (localhost, 127.0.0.1, [::1]) or one listed in WorkflowsAllowedHosts.")
                .ExecuteAsync(context);
        }

        var jsonOnly = context.GetEndpoint()?.Metadata.GetMetadata<JsonRequestsOnly>() is not null;
        if (!jsonOnly && IsSafe(request.Method))
        {
            return next(context);
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && !IsAllowedOrigin(origin, request.Host.Host, host.AllowedHosts))
        {
            return Problems.Create(
                StatusCodes.Status403Forbidden,
                "Origin not allowed",
                $"Requests from the origin '{origin}' are refused: this API serves no cross-origin requests (only loopback origins and WorkflowsAllowedHosts).")
                .ExecuteAsync(context);
        }

        if (!jsonOnly)
        {
            return next(context);
        }

        var hasBody = request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
        if ((hasBody || request.ContentType is not null) && !IsJson(request.ContentType))
        {
            return Problems.Create(
                StatusCodes.Status415UnsupportedMediaType,
                "Unsupported media type",
                $"This endpoint takes a body only as application/json; the request's Content-Type is '{request.ContentType ?? "(none)"}'.")
                .ExecuteAsync(context);
        }

        return next(context);
    }

    /// <summary>Methods a cross-site page cannot change anything with (every other one is checked for its origin on every route).</summary>
    private static bool IsSafe(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method);

    /// <summary>Whether <paramref name="name"/> (a Host header's host, without port) is a loopback name or an allowed host.</summary>
    internal static bool IsAllowedHost(string name, IReadOnlyList<string> allowed)
    {
        var bare = name.Trim('[', ']').TrimEnd('.');
        return string.Equals(bare, "localhost", StringComparison.OrdinalIgnoreCase)
            || bare.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(bare, out var address) && IPAddress.IsLoopback(address))
            || allowed.Contains(bare, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// A loopback or allowed origin, or the request's own host (a same-origin page such as the dashboard; while keys are
    /// off that host has passed the Host check already).
    /// </summary>
    private static bool IsAllowedOrigin(string origin, string requestHost, IReadOnlyList<string> allowed) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && (IsAllowedHost(uri.Host, allowed) || string.Equals(uri.Host, requestHost, StringComparison.OrdinalIgnoreCase));

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (media.MediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && media.MediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)));
}

/// <summary>Endpoint metadata: requests carry JSON bodies only, from no foreign browser origin (see <see cref="RequestGuardMiddleware"/>).</summary>
internal sealed class JsonRequestsOnly;
