using Workflows.Host.Configuration;
using Workflows.Host.Rpc;

namespace Workflows.Host.Hosting;

/// <summary>
/// The host's entry point: serves a function app's build output as the Azure Functions host with Durable Functions
/// does (what <c>func start</c> does where the Core Tools are installed).
/// </summary>
public static class FunctionsHost
{
    /// <summary>
    /// Builds and runs the host until it is stopped (Ctrl+C, SIGTERM). A configuration error, or an app whose worker
    /// cannot start or whose functions cannot be served, stops start-up with its message on standard error (no stack
    /// trace: the message names the setting, the app or the function) and exit code 1.
    /// </summary>
    public static int Run(string[] args)
    {
        try
        {
            new FunctionsHostBuilder(args).Build().Run();
            return 0;
        }
        catch (Exception exception) when (exception is HostConfigurationException or WorkerStartException)
        {
            Console.Error.WriteLine($"Start-up failed: {exception.Message}");
            return 1;
        }
    }
}
