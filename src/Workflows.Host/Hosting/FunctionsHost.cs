using System.Reflection;

namespace Workflows.Host;

/// <summary>
/// Entry point of a function app: <c>FunctionsHost.CreateBuilder(args, typeof(Program).Assembly).Build().Run()</c>
/// serves the app's functions as the Azure Functions host with Durable Functions does.
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
}
