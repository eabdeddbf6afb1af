using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Serving.Batching;
using Workflows.Serving.Configuration;
using Workflows.Serving.Diagnostics;
using Workflows.Serving.Models;
using Workflows.Serving.Protocol;

namespace Workflows.Serving.Http;

/// <summary>
/// Turns failures into problem+json answers so the service stays up, and counts each in the error metric under the
/// model of the route (or <c>none</c>): bad input 400, unknown model or version 404, a routing change that cannot be
/// made 409, a body over the limit 413, a full queue 503, anything else 500 with an error id that is also logged.
/// </summary>
internal sealed class ErrorHandlingMiddleware(RequestDelegate next, ModelCatalog catalog, ServingMetrics metrics, IOptions<ServingOptions> options, ILogger<ErrorHandlingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        // A declared length over the limit is refused before anything runs; a chunked body hits Kestrel's limit on read.
        if (context.Request.ContentLength > options.Value.MaxRequestBodyBytes)
        {
            metrics.Error(ModelLabel(context), "too_large");
            context.Response.Headers.Connection = "close"; // the unread body stays on the connection: do not reuse it
            await Problems.TooLarge(options.Value.MaxRequestBodyBytes).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is no one to answer.
        }
        catch (Exception exception) when (!context.Response.HasStarted)
        {
            var (result, reason) = exception switch
            {
                ServingException serving => (Problems.Create(serving.Status, Title(serving.Status), serving.Message), serving.Reason),
                InputException input => (Problems.BadRequest(input.Message), "bad_input"),
                JsonException json => (Problems.Create(StatusCodes.Status400BadRequest, "Malformed JSON", $"The request body is not valid JSON: {json.Message}"), "bad_input"),
                RoutingException routing => (Problems.Create(StatusCodes.Status409Conflict, "Conflict", routing.Message), "routing"),
                BatcherOverloadedException overloaded => (Problems.Unavailable(overloaded.Message), "overloaded"),
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => (Problems.TooLarge(options.Value.MaxRequestBodyBytes), "too_large"),
                BadHttpRequestException bad => (Problems.Create(bad.StatusCode, "Bad request", bad.Message), "bad_input"),
                _ => (Failed(context, exception), "failed"),
            };
            metrics.Error(ModelLabel(context), reason);
            context.Response.Clear();
            if (reason == "too_large")
            {
                context.Response.Headers.Connection = "close";
            }

            await result.ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>The metric label of the request's model: the name when it is served, else <c>none</c> (no unbounded label values).</summary>
    private string ModelLabel(HttpContext context) =>
        context.Request.RouteValues["name"] is string name && catalog.Find(name) is { } model ? model.Name : "none";

    private static string Title(int status) => status switch
    {
        StatusCodes.Status404NotFound => "Not found",
        StatusCodes.Status413PayloadTooLarge => "Request body too large",
        StatusCodes.Status503ServiceUnavailable => "Unavailable",
        _ => "Bad request",
    };

    private IResult Failed(HttpContext context, Exception exception)
    {
        var errorId = Guid.NewGuid().ToString("N");
        ServingLog.RequestFailed(logger, exception, context.Request.Method, context.Request.Path, errorId);
        return Problems.Create(StatusCodes.Status500InternalServerError, "Request failed", "The request failed; the service log has the details under the error id.", errorId);
    }
}
