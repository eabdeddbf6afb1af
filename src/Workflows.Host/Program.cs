using Workflows.Host.Hosting;

// The host: run from the folder with host.json (or --AzureWebJobsScriptRoot), it starts the function app that
// WorkflowsAppPath names (its build output) as its worker process and serves on http://127.0.0.1:7071 (see README).
return FunctionsHost.Run(args);
