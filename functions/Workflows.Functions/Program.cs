using Microsoft.Extensions.Hosting;
using Workflows.Functions;
using Workflows.Host;
using Workflows.Host.Functions;
using Workflows.Host.Hosting;

// The function app: the Functions-style host discovers the [Function] methods and [DurableTask] classes of this
// assembly, reads host.json and local.settings.json, and serves on http://127.0.0.1:7071 (see README). App settings
// (WorkflowsChunkCacheMegabytes, WorkflowsModelRegistryRoot) come from the host's configuration.
return FunctionsHost.Run(args, typeof(Program).Assembly, static builder => builder.AddWorkflowServices());
