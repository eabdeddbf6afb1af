using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;

namespace Workflows.Host.Http;

/// <summary>
/// Turns failures into problem+json answers so the host stays up: a bad request (malformed JSON, bad route value)
/// is 400 naming the problem, a body over the limit 413, anything else 500 with an error id that is also logged.
/// </summary>
internal sealed class ErrorHandlingMiddleware(RequestDelegate next, ILoggerFactory loggerFactory, IOptions<FunctionsHostOptions> options)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Workflows.Host.Http");

    public async Task InvokeAsync(HttpContext context)
    {
        // A declared length over the limit is refused before anything runs; a chunked body hits Kestrel's limit on read.
        if (context.Request.ContentLength > options.Value.MaxRequestBodySize)
        {
            await TooLarge(context.Request.ContentLength.Value).ExecuteAsync(context).ConfigureAwait(false);
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
            var result = exception switch
            {
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => TooLarge(null),
                BadHttpRequestException bad => Problems.Create(bad.StatusCode, "Bad request", bad.Message),
                JsonException json => Problems.Create(StatusCodes.Status400BadRequest, "Malformed JSON", $"The request body is not valid JSON: {json.Message}"),
                _ => Failed(context, exception),
            };
            context.Response.Clear();
            await result.ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    private IResult TooLarge(long? length) => Problems.Create(
        StatusCodes.Status413PayloadTooLarge,
        "Request body too large",
        $"The request body{(length is null ? string.Empty : $" ({length} bytes)")} is over the limit of {options.Value.MaxRequestBodySize} bytes (extensions.http.maxRequestBodySize).");

    private IResult Failed(HttpContext context, Exception exception)
    {
        var errorId = Guid.NewGuid().ToString("N");
        var function = context.GetEndpoint()?.Metadata.GetMetadata<HttpFunctionMetadata>();
        if (function is not null)
        {
            HostLog.FunctionFailed(_logger, exception, function.Name, errorId);
        }
        else
        {
            HostLog.RequestFailed(_logger, exception, context.Request.Method, context.Request.Path, errorId);
        }

        return Problems.Create(
            StatusCodes.Status500InternalServerError,
            "Function failed",
            function is null ? "The request failed; the host log has the details under the error id." : $"Function '{function.Name}' failed; the host log has the details under the error id.",
            errorId);
    }
}
