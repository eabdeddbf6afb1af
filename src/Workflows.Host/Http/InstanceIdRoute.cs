using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Workflows.Host.Http;

/// <summary>
/// The instance id of a route, decoded exactly once. The server decodes the path except <c>%2F</c>, which it leaves
/// as written, so a route value with a '%' is read again from the raw request target, where the segment is decoded in
/// full: <c>a%2Fb</c> is the id <c>a/b</c> (which the id rules refuse) and <c>a%252Fb</c> the id <c>a%2Fb</c>.
/// </summary>
internal static class InstanceIdRoute
{
    public static string Decode(HttpContext context, string routeValue)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!routeValue.Contains('%', StringComparison.Ordinal))
        {
            return routeValue;
        }

        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var rawSegments = (query < 0 ? raw : raw[..query]).Split('/');
        var segments = (context.Request.PathBase + context.Request.Path).Value!.Split('/');
        var index = Array.IndexOf(segments, routeValue);
        return index >= 0 && rawSegments.Length == segments.Length
            ? Uri.UnescapeDataString(rawSegments[index])
            : routeValue.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
    }
}
