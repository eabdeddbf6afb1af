using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

// The engine benchmark's orchestrators as a genuine isolated app; the benchmark's host starts it as its worker.
var builder = FunctionsApplication.CreateBuilder(args);
builder.Build().Run();
