using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Host.Configuration;
using Workflows.Host.Diagnostics;
using Workflows.Host.FunctionApp;
using Workflows.Host.Http;
using Workflows.Host.Rpc;

namespace Workflows.Host.Hosting;

/// <summary>
/// Once the server listens, prints the functions and their URLs as the Functions Core Tools do, and logs the
/// configuration warnings collected at start-up.
/// </summary>
internal sealed class FunctionListing(
    IHostApplicationLifetime lifetime,
    IServer server,
    FunctionAppWorker app,
    IOptions<FunctionsHostOptions> options,
    HostStartupWarnings warnings,
    ILoggerFactory loggerFactory) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var logger = loggerFactory.CreateLogger("Workflows.Host");
        foreach (var warning in warnings)
        {
            HostLog.ConfigurationWarning(logger, warning);
        }

        lifetime.ApplicationStarted.Register(() => Console.Out.Write(Describe(BaseAddress())));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The listing text for a host at <paramref name="baseAddress"/>.</summary>
    public string Describe(string baseAddress)
    {
        var text = new StringBuilder();
        text.AppendLine().AppendLine("Functions:").AppendLine();
        foreach (var function in app.Catalog.Entries.OrderBy(static f => f.Name, StringComparer.OrdinalIgnoreCase))
        {
            text.Append('\t').Append(function.Name).Append(": ");
            switch (function)
            {
                case WorkerHttpEntry http:
                    var methods = http.Methods.Count == 0 ? "*" : string.Join(',', http.Methods);
                    text.Append('[').Append(methods).Append("] ").Append(baseAddress).Append('/').Append(HttpFunctionEndpoints.RouteOf(options.Value, http));
                    break;
                case WorkerTimerEntry timer:
                    text.Append("timerTrigger (").Append(timer.ScheduleText).Append(')');
                    break;
                case WorkerTaskEntry { IsOrchestrator: true }:
                    text.Append("orchestrationTrigger");
                    break;
                default:
                    text.Append("activityTrigger");
                    break;
            }

            text.AppendLine();
        }

        foreach (var name in app.Catalog.Disabled.Order(StringComparer.OrdinalIgnoreCase))
        {
            text.Append('\t').Append(name).Append(": disabled (AzureWebJobs.").Append(name).AppendLine(".Disabled)");
        }

        text.AppendLine()
            .Append("Start any orchestrator: [POST] ").Append(baseAddress).Append('/').Append(options.Value.RoutePrefix.Length == 0 ? string.Empty : options.Value.RoutePrefix + "/").AppendLine("orchestrators/{name}[/{instanceId}]")
            .Append("Durable Functions HTTP API: ").Append(baseAddress).AppendLine("/runtime/webhooks/durabletask/")
            .Append("Dashboard: ").Append(baseAddress).AppendLine("/")
            .AppendLine();
        return text.ToString();
    }

    private string BaseAddress()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:7071";
        return address.TrimEnd('/');
    }
}
