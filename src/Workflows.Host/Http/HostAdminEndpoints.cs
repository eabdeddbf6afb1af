using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Prometheus;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;
using Workflows.Host.FunctionApp;
using Workflows.Host.Security;
using Workflows.Host.TaskHub;

namespace Workflows.Host.Http;

/// <summary>
/// Operational endpoints: <c>/admin/host/status</c> (admin key), <c>/health</c> and <c>/metrics</c> (no key), and the
/// dashboard at <c>/</c> (a static page; the data it fetches needs the management API's key).
/// </summary>
internal static class HostAdminEndpoints
{
    public static void MapHostAdminEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("admin/host/status", (IOptions<FunctionsHostOptions> options, FunctionAppWorker app, TaskHubRuntime taskHub, HostUptime uptime) => Results.Json(new
        {
            id = Environment.MachineName.ToLowerInvariant() + "-" + Environment.ProcessId,
            state = "Running",
            version = typeof(HostAdminEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0",
            hubName = options.Value.HubName,
            storage = options.Value.StorageKind.ToString(),
            functions = app.Catalog.Entries.Select(static f => f.Name).Order(StringComparer.OrdinalIgnoreCase).ToArray(),
            storageTransactions = taskHub.TransactionCounter?.Total,
            processUptimeSeconds = (long)uptime.Elapsed.TotalSeconds,
        })).WithMetadata(new RequiredKeyLevel(AuthorizationLevel.Admin));

        endpoints.MapGet("health", async (TaskHubRuntime taskHub, CancellationToken cancellationToken) =>
        {
            // Healthy means the task hub answers: one cheap read through the provider.
            await taskHub.Client.GetInstanceAsync("health-probe", cancellation: cancellationToken).ConfigureAwait(false);
            return Results.Json(new { status = "Healthy" });
        });

        var dashboard = ReadDashboard();
        endpoints.MapGet(string.Empty, () => Results.Content(dashboard, "text/html; charset=utf-8"));

        var registry = endpoints.ServiceProvider.GetRequiredService<FunctionMetrics>().Registry;
        endpoints.MapMetrics("metrics", registry);
    }

    private static string ReadDashboard()
    {
        using var stream = typeof(HostAdminEndpoints).Assembly.GetManifestResourceStream("Workflows.Host.Dashboard.html")
            ?? throw new InvalidOperationException("The dashboard page is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
