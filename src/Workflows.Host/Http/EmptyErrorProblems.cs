using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Workflows.Host.Http;

/// <summary>
/// The body of an error answer the host left empty (405 for a route that exists with other methods, 404 for no
/// route, a 400 from routing or binding): problem+json naming the status, the request and, for 405, the methods the
/// <c>Allow</c> header lists (the header stays). Answers of the app's own HTTP functions are theirs and stay as they are.
/// </summary>
internal static class EmptyErrorProblems
{
    public static Task WriteAsync(StatusCodeContext statusCodeContext)
    {
        var context = statusCodeContext.HttpContext;
        if (context.GetEndpoint()?.Metadata.GetMetadata<HttpFunctionMetadata>() is not null)
        {
            return Task.CompletedTask;
        }

        var status = context.Response.StatusCode;
        var request = $"{context.Request.Method} {context.Request.PathBase}{context.Request.Path}";
        var detail = status switch
        {
            StatusCodes.Status405MethodNotAllowed => $"{request}: the method is not allowed here; allowed: {context.Response.Headers.Allow}.",
            StatusCodes.Status404NotFound => $"{request}: there is no such route.",
            StatusCodes.Status400BadRequest => $"{request}: the request is not valid.",
            _ => $"{request}: {ReasonPhrases.GetReasonPhrase(status)}.",
        };
        return Problems.Create(status, ReasonPhrases.GetReasonPhrase(status), detail).ExecuteAsync(context);
    }
}
