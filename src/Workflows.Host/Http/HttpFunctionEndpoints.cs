using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;
using Workflows.Host.FunctionApp;
using Workflows.Host.Rpc;
using Workflows.Host.Security;

namespace Workflows.Host.Http;

/// <summary>Marks the endpoint of one of the app's HTTP functions (error pages name the function).</summary>
internal sealed record HttpFunctionMetadata(string Name);

/// <summary>
/// Maps every HTTP-triggered function of the app on <c>/{routePrefix}/{route}</c>: the request is forwarded to the
/// worker (<see cref="WorkerHttpProxy"/>). The routes are the worker's own, known once it has started, so they come
/// from an endpoint data source that reads the app's catalog when routing first needs it (after start-up).
/// </summary>
internal static class HttpFunctionEndpoints
{
    public static void MapHttpFunctions(this IEndpointRouteBuilder endpoints, FunctionAppWorker app, FunctionsHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.DataSources.Add(new FunctionDataSource(app, options));
    }

    /// <summary>The route below the host root, e.g. <c>api/hello/{city?}</c>.</summary>
    public static string RouteOf(FunctionsHostOptions options, WorkerHttpEntry function) =>
        options.RoutePrefix.Length == 0 ? function.RouteTemplate : $"{options.RoutePrefix}/{function.RouteTemplate}";

    private static async Task InvokeAsync(HttpContext context, FunctionAppWorker app, WorkerHttpEntry function, FunctionsHostOptions options)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        if (options.FunctionTimeout is { } limit)
        {
            timeout.CancelAfter(limit);
        }

        var routeValues = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in context.Request.RouteValues)
        {
            if (value is not null && function.Route.GetParameter(name) is not null)
            {
                routeValues[name] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
            }
        }

        var aborted = context.RequestAborted;
        context.RequestAborted = timeout.Token;
        try
        {
            await context.RequestServices.GetRequiredService<FunctionMetrics>()
                .MeasureAsync(function.Name, "httpTrigger", async () =>
                {
                    await app.Proxy.InvokeAsync(context, function.Name, routeValues).ConfigureAwait(false);
                    return true;
                })
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException exception) when (timeout.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            // Said plainly in the log (under the error id the 500 carries) instead of a bare cancellation.
            throw new TimeoutException($"Function '{function.Name}' ran longer than functionTimeout ({options.FunctionTimeout}).", exception);
        }
        finally
        {
            context.RequestAborted = aborted;
        }
    }

    private sealed class FunctionDataSource(FunctionAppWorker app, FunctionsHostOptions options) : EndpointDataSource
    {
        private IReadOnlyList<Endpoint>? _endpoints;

        public override IReadOnlyList<Endpoint> Endpoints => _endpoints ??= Build();

        public override IChangeToken GetChangeToken() => NullChangeToken.Singleton;

        private List<Endpoint> Build()
        {
            var endpoints = new List<Endpoint>();
            foreach (var function in app.Catalog.Http)
            {
                var builder = new RouteEndpointBuilder(context => InvokeAsync(context, app, function, options), RoutePatternFactory.Parse(RouteOf(options, function)), order: 0)
                {
                    DisplayName = function.Name,
                };
                if (function.Methods.Count > 0)
                {
                    builder.Metadata.Add(new HttpMethodMetadata(function.Methods));
                }

                builder.Metadata.Add(new HttpFunctionMetadata(function.Name));
                builder.Metadata.Add(new RequiredKeyLevel(Enum.Parse<AuthorizationLevel>(function.AuthLevel)));
                if (string.Equals(function.RouteTemplate, DurableHttpApi.StarterRoute, StringComparison.OrdinalIgnoreCase))
                {
                    // The app's generic starter is guarded as the host's own starter on that route is.
                    builder.Metadata.Add(new JsonRequestsOnly());
                }
                endpoints.Add(builder.Build());
            }

            return endpoints;
        }
    }
}
