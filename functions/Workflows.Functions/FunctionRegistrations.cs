using Workflows.Durable;
using Workflows.Host;

namespace Workflows.Functions;

/// <summary>Every orchestrator and activity of the function app.</summary>
public static class FunctionRegistrations
{
    /// <summary>
    /// Adds the app's functions to <paramref name="registry"/>: the <c>[Function]</c> orchestrators and activities
    /// and the <c>[DurableTask]</c> classes of this assembly, found the way the host finds them (tests and
    /// benchmarks that run the engine without the host use this).
    /// </summary>
    public static DurableTaskRegistry AddWorkflowFunctions(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry.AddFunctions(typeof(FunctionRegistrations).Assembly);
    }
}
