using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;
using Workflows.Host.Functions;
using Workflows.Host.Hosting;

namespace Workflows.Host.Http;

/// <summary>Maps every HTTP-triggered function on <c>/{routePrefix}/{route}</c>.</summary>
internal static class HttpFunctionEndpoints
{
    public static void MapHttpFunctions(this IEndpointRouteBuilder endpoints, FunctionCatalog catalog, FunctionsHostOptions options)
    {
        foreach (var function in catalog.OfKind(FunctionKind.Http))
        {
            var pattern = RouteOf(options, function);
            RequestDelegate handler = context => InvokeAsync(context, function, options);
            var builder = function.HttpMethods.Count == 0 ? endpoints.Map(pattern, handler) : endpoints.MapMethods(pattern, function.HttpMethods, handler);
            builder.WithMetadata(function).WithDisplayName(function.Name);
        }
    }

    /// <summary>The route below the host root, e.g. <c>api/hello/{city?}</c>.</summary>
    public static string RouteOf(FunctionsHostOptions options, FunctionDescriptor function) =>
        options.RoutePrefix.Length == 0 ? function.RouteTemplate! : $"{options.RoutePrefix}/{function.RouteTemplate}";

    private static async Task InvokeAsync(HttpContext context, FunctionDescriptor function, FunctionsHostOptions options)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        if (options.FunctionTimeout is { } limit)
        {
            timeout.CancelAfter(limit);
        }

        var invocation = new InvocationContext
        {
            FunctionName = function.Name,
            Services = context.RequestServices,
            CancellationToken = timeout.Token,
            Http = context,
        };
        object? result;
        try
        {
            result = await context.RequestServices.GetRequiredService<FunctionMetrics>().MeasureAsync(function.Name, "httpTrigger", () => function.InvokeAsync(invocation)).ConfigureAwait(false);
        }
        catch (OperationCanceledException exception) when (timeout.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            // Said plainly in the log (under the error id the 500 carries) instead of a bare cancellation.
            throw new TimeoutException($"Function '{function.Name}' ran longer than functionTimeout ({options.FunctionTimeout}).", exception);
        }

        await WriteAsync(context, result).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext context, object? result) => result switch
    {
        IResult typed => typed.ExecuteAsync(context),
        null => Results.NoContent().ExecuteAsync(context),
        string text => Results.Text(text).ExecuteAsync(context),
        _ => Results.Json(result).ExecuteAsync(context),
    };
}
