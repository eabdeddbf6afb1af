using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Workflows.Functions;

// The function app, an isolated-worker process: a Functions host starts this build output (worker.config.json says
// how) and serves the [Function] methods of this assembly, which functions.metadata lists. App settings
// (WorkflowsDataRoot, WorkflowsChunkCacheMegabytes, WorkflowsModelRegistryRoot, ...) come from the host as
// environment variables. A bad one stops the process before it serves anything: one line on standard error naming
// the setting, and exit code 1, which the host reports with the worker's standard error.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
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
