using System.Reflection;
using Workflows.Host.Configuration;
using Workflows.Host.Functions;

namespace Workflows.Host.Hosting;

/// <summary>
/// Entry point of a function app: <c>return FunctionsHost.Run(args, typeof(Program).Assembly);</c>, or
/// <c>FunctionsHost.CreateBuilder(args, typeof(Program).Assembly).Build().Run()</c> to add services first.
/// Serves the app's functions as the Azure Functions host with Durable Functions does.
/// </summary>
public static class FunctionsHost
{
    /// <summary>Creates a builder for the functions of <paramref name="functionsAssembly"/>.</summary>
    /// <exception cref="HostConfigurationException">A setting is invalid; the message names it.</exception>
    /// <exception cref="FunctionIndexingException">A function is malformed; the message names it.</exception>
    public static FunctionsHostBuilder CreateBuilder(string[] args, Assembly functionsAssembly)
    {
        ArgumentNullException.ThrowIfNull(functionsAssembly);
        return new(args, functionsAssembly.GetTypes());
    }

    /// <summary>
    /// Builds and runs the host until it is stopped (Ctrl+C, SIGTERM). A configuration or function error stops
    /// start-up with its message on standard error (no stack trace: the message names the key or function) and
    /// exit code 1.
    /// </summary>
    public static int Run(string[] args, Assembly functionsAssembly) => Run(args, functionsAssembly, static _ => { });

    /// <summary>
    /// As <see cref="Run(string[], Assembly)"/>, letting <paramref name="configure"/> add the services the app's
    /// functions take in their constructors first.
    /// </summary>
    public static int Run(string[] args, Assembly functionsAssembly, Action<FunctionsHostBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        try
        {
            var builder = CreateBuilder(args, functionsAssembly);
            configure(builder);
            builder.Build().Run();
            return 0;
        }
        catch (Exception exception) when (exception is HostConfigurationException or FunctionIndexingException)
        {
            Console.Error.WriteLine($"Start-up failed: {exception.Message}");
            return 1;
        }
    }
}
