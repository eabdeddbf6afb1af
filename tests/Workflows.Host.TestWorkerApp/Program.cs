using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

// A genuine isolated-worker app: started by the host as its worker process (worker.config.json says how), it
// connects back over the Functions host protocol and serves the functions in TestFunctions.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Build().Run();
