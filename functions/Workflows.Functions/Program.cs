using System.Text.Json;
using Azure.Core.Serialization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Workflows.Functions;

// The function app, an isolated-worker process: a Functions host starts this build output (worker.config.json says
// how) and serves the [Function] methods of this assembly, which functions.metadata lists. App settings
// (WorkflowsDataRoot, WorkflowsChunkCacheMegabytes, WorkflowsModelRegistryRoot, ...) come from the host as
// environment variables. A bad one stops the process before it serves anything: one line on standard error naming
// the setting, and exit code 1, which the host reports with the worker's standard error.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

// JSON the web's way (camelCase names, case-insensitive reads) for everything the worker serializes: HTTP responses
// such as the check-status payload, and orchestration and activity inputs and outputs (the Durable extension's data
// converter wraps this serializer), as the Durable Functions HTTP API and the dashboard read them.
builder.Services.Configure<WorkerOptions>(options => options.Serializer = new JsonObjectSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web)));
try
{
    var configuration = builder.Configuration;
    builder.Services.AddWorkflowServices(settings: key => configuration[key]);
}
catch (AppSettingException exception)
{
    await Console.Error.WriteLineAsync("Start-up failed: " + exception.Message);
    return 1;
}

await builder.Build().RunAsync();
return 0;
