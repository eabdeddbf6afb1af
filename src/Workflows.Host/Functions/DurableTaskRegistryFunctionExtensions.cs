using System.Reflection;
using Microsoft.DurableTask;

namespace Workflows.Host.Functions;

/// <summary>Fills the official SDK's <see cref="DurableTaskRegistry"/> from an assembly's functions.</summary>
public static class DurableTaskRegistryFunctionExtensions
{
    /// <summary>
    /// Discovers the <c>[Function]</c> orchestrator and activity methods and the <c>[DurableTask]</c> classes of
    /// <paramref name="assembly"/> and registers them; <paramref name="services"/> resolves constructor and
    /// parameter dependencies (without it, classes need a parameterless constructor).
    /// </summary>
    /// <exception cref="FunctionIndexingException">A function is malformed; the message names it.</exception>
    public static DurableTaskRegistry AddFunctions(this DurableTaskRegistry registry, Assembly assembly, IServiceProvider? services = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        FunctionDiscovery.Discover(assembly, Environment.GetEnvironmentVariable).AddTo(registry, services);
        return registry;
    }
}
